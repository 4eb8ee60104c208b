/**
 * Lower bounds on one layer's makespan (P||Cmax and its constrained variants). A plan's `layerLowerBound`
 * comes from here, every solver's gap is measured against it, and the laws in `spec/` check makespan ≥ bound.
 *
 * All bounds take item costs in load units (already divided by speed for identical devices). With `devices` as
 * speeds, costs are at speed 1 and each is divided by the speed of the device it lands on: a cost term that does not
 * scale with speed (a cost model's `fixed`) must be left out of the costs, or the bound can exceed the optimum.
 */

export interface BoundOptions {
  /** Number of devices (identical), or their relative speeds (uniform machines: load = cost / speed). */
  readonly devices: number | ReadonlyArray<number>;
  /** Every device must hold the same number of items (n / m each). */
  readonly equalHeadsPerDevice?: boolean;
  /** Items that must stay together (e.g. GQA groups: indices of query heads). Bounds are then taken over groups too. */
  readonly groups?: ReadonlyArray<ReadonlyArray<number>>;
}

const sumOf = (xs: ReadonlyArray<number>) => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

/** max(mean load, largest item), generalised to uniform machines: max_k (k largest items) / (k fastest speeds). */
export const trivialBound = (costs: ReadonlyArray<number>, devices: number | ReadonlyArray<number>): number => {
  if (costs.length === 0) return 0;
  const speeds = typeof devices === 'number' ? Array<number>(devices).fill(1) : [...devices];
  speeds.sort((a, b) => b - a);
  const desc = [...costs].sort((a, b) => b - a);
  const totalSpeed = sumOf(speeds);
  let best = sumOf(desc) / totalSpeed;
  let cs = 0;
  let ss = 0;
  for (let k = 0; k < Math.min(desc.length, speeds.length); k++) {
    cs += desc[k]!;
    ss += speeds[k]!;
    best = Math.max(best, cs / ss);
  }
  return best;
};

/**
 * Pigeonhole bound for m identical devices: among the t·m+1 largest items some device gets t+1 of them,
 * so the makespan is at least the sum of the t+1 smallest of those. Max over t.
 */
export const pigeonholeBound = (costs: ReadonlyArray<number>, m: number): number => {
  const desc = [...costs].sort((a, b) => b - a);
  let best = 0;
  for (let tt = 1; tt * m + 1 <= desc.length; tt++) {
    let s = 0;
    for (let i = tt * m - tt; i <= tt * m; i++) s += desc[i]!;
    best = Math.max(best, s);
  }
  return best;
};

/**
 * Equal heads per device (c = n/m each), identical devices: the device holding the largest item also holds
 * c−1 others, each at least as large as the c−1 smallest items.
 */
export const equalCountBound = (costs: ReadonlyArray<number>, m: number): number => {
  const n = costs.length;
  if (n === 0 || n % m !== 0) return 0;
  const c = n / m;
  const asc = [...costs].sort((a, b) => a - b);
  let small = 0;
  for (let i = 0; i < c - 1; i++) small += asc[i]!;
  return asc[n - 1]! + small;
};

/** The best of all bounds that apply to the options. Returns 0 for an empty layer. */
export const layerLowerBound = (costs: ReadonlyArray<number>, opts: BoundOptions): number => {
  const m = typeof opts.devices === 'number' ? opts.devices : opts.devices.length;
  const identical = typeof opts.devices === 'number' || opts.devices.every((s) => s === (opts.devices as ReadonlyArray<number>)[0]);
  const speed = typeof opts.devices === 'number' ? 1 : (opts.devices[0] ?? 1);
  let best = trivialBound(costs, opts.devices);
  if (identical) {
    best = Math.max(best, pigeonholeBound(costs, m) / speed);
    if (opts.equalHeadsPerDevice) best = Math.max(best, equalCountBound(costs, m) / speed);
  }
  if (opts.groups && opts.groups.length > 0) {
    const groupCosts = opts.groups.map((g) => sumOf(g.map((i) => costs[i]!)));
    best = Math.max(best, trivialBound(groupCosts, opts.devices));
    if (identical) {
      best = Math.max(best, pigeonholeBound(groupCosts, m) / speed);
      if (opts.equalHeadsPerDevice && groupCosts.length % m === 0) best = Math.max(best, equalCountBound(groupCosts, m) / speed);
    }
  }
  return best;
};
