/**
 * The exact class-count DP for bin packing with few item classes: the least number of bins of capacity C that hold
 * the multiset, over count vectors x (items of each class packed so far). Items are added one at a time; each state
 * keeps the least (closed bins, open-bin fill) over the classes of its last item, which is exact: an optimal packing
 * listed bin by bin is one such sequence, and (b, f) is never worse than (b + 1, ·) (close the open bin) nor than
 * (b, f' > f). O(states × classes) per capacity, states = Π (count + 1).
 * As a proof: minBins(C) > m means no placement on m devices has makespan ≤ C. As a bound: lifting it over the
 * achievable loads gives the optimum itself. Used by `../exact.ts` (its capacity probes) and `../bounds.ts`.
 */
import type { Classes } from './classes.ts';
import type { Deadline } from '../deadline.ts';

/** Something that can stop a long computation: `spend(units)` is false once the budget is gone (see effort.ts). */
export interface Meter {
  spend(units: number): boolean;
}

/** Largest count-vector state space the DP takes on (13 bytes a state). */
export const CLASS_DP_MAX_STATES = 1_500_000;

let bufBins = new Int32Array(0);
let bufFill = new Float64Array(0);
let bufFrom = new Int8Array(0);

export interface ClassDpResult {
  /** Least number of bins of capacity C. */
  readonly bins: number;
  /** One optimal packing: per bin, items per class. */
  readonly packing: ReadonlyArray<Int32Array>;
}

/**
 * Least number of bins of capacity C for the classes (Infinity when an item is larger than C), with an optimal
 * packing; 'stopped' when the meter ran out (one unit per state) or the state space is above `maxStates`.
 */
export const classMinBins = (c: Classes, C: number, meter?: Meter, maxStates = CLASS_DP_MAX_STATES): ClassDpResult | 'stopped' => {
  const { vals, counts } = c;
  const T = vals.length;
  if (T === 0) return { bins: 0, packing: [] };
  if (T > 127) return 'stopped';
  for (let t = 0; t < T; t++) if (counts[t]! > 0 && vals[t]! > C) return { bins: Infinity, packing: [] };
  let states = 1;
  for (let t = 0; t < T; t++) {
    states *= counts[t]! + 1;
    if (states > maxStates) return 'stopped';
  }
  if (bufBins.length < states) {
    bufBins = new Int32Array(states);
    bufFill = new Float64Array(states);
    bufFrom = new Int8Array(states);
  }
  const dpBins = bufBins;
  const dpFill = bufFill;
  const dpFrom = bufFrom;
  const radix = new Int32Array(T);
  for (let t = 0, r = 1; t < T; t++) { radix[t] = r; r *= counts[t]! + 1; }
  const cnt = Int32Array.from(counts);
  const val = Float64Array.from(vals);
  const x = new Int32Array(T);
  dpBins[0] = 0;
  dpFill[0] = 0;
  // The meter is charged 16384 units before each state whose index is a multiple of 16384; the states between run in
  // `dpStates`, a module-level loop without calls (its optimised code survives from one DP to the next, where a loop
  // inlined here was deoptimised at the end of every call and re-entered cold).
  for (let idx = 1; idx < states; ) {
    if ((idx & 16383) === 0 && meter && !meter.spend(16384)) return 'stopped';
    const end = Math.min(states, (idx | 16383) + 1);
    dpStates(dpBins, dpFill, dpFrom, x, cnt, radix, val, T, C, idx, end);
    idx = end;
  }
  return packingOf(dpBins, dpFill, dpFrom, radix, vals, T, C, states);
};

/** DP states [from, to): x is the count vector of state from − 1 on entry, of state to − 1 on exit. */
const dpStates = (
  dpBins: Int32Array, dpFill: Float64Array, dpFrom: Int8Array, x: Int32Array, cnt: Int32Array, radix: Int32Array,
  val: Float64Array, T: number, C: number, from: number, to: number,
): void => {
  const BIG = 0x7fffffff;
  for (let idx = from; idx < to; idx++) {
    // Next count vector (mixed radix, incrementally).
    for (let t = 0; t < T; t++) {
      if (x[t]! < cnt[t]!) { x[t]!++; break; }
      x[t] = 0;
    }
    let bb = BIG;
    let bf = 0;
    let bt = 0;
    for (let t = 0; t < T; t++) {
      if (x[t] === 0) continue;
      const prev = idx - radix[t]!;
      const v = val[t]!;
      let b = dpBins[prev]!;
      let f = dpFill[prev]! + v;
      if (f > C) { b++; f = v; }
      if (b < bb || (b === bb && f < bf)) { bb = b; bf = f; bt = t; }
    }
    dpBins[idx] = bb;
    dpFill[idx] = bf;
    dpFrom[idx] = bt;
  }
};

/** The answer of a finished DP: the bins at the full count vector and one optimal packing (walked back). */
const packingOf = (
  dpBins: Int32Array, dpFill: Float64Array, dpFrom: Int8Array, radix: Int32Array, vals: ReadonlyArray<number>,
  T: number, C: number, states: number,
): ClassDpResult => {
  const last = states - 1;
  const bins = dpBins[last]! + (dpFill[last]! > 0 ? 1 : 0);
  // Walk back: the item sequence; a new bin whenever the fill restarts.
  const seq: number[] = [];
  for (let idx = last; idx > 0; idx -= radix[dpFrom[idx]!]!) seq.push(dpFrom[idx]!);
  seq.reverse();
  const packing: Int32Array[] = [];
  let cur = new Int32Array(T);
  let fill = 0;
  for (const t of seq) {
    if (fill + vals[t]! > C && fill > 0) {
      packing.push(cur);
      cur = new Int32Array(T);
      fill = 0;
    }
    fill += vals[t]!;
    cur[t]!++;
  }
  if (fill > 0 || packing.length === 0) packing.push(cur);
  return { bins, packing };
};

/**
 * A relaxation with at most `maxStates` count vectors: adjacent classes merged by rounding the larger value down to
 * the smaller (the merge that loses the least total cost first). Every placement of the original is one of the
 * relaxation with loads no larger, so a capacity the relaxation cannot pack (`classMinBins` > m) is infeasible for
 * the original too: a cheap proof, and a bound when the full DP is too large. Null when even one class is too many,
 * or when `clock` passed before the merging was done.
 */
export const relaxClasses = (c: Classes, maxStates: number, clock?: Deadline): Classes | null => {
  const vals = [...c.vals];
  const counts = [...c.counts];
  const states = () => counts.reduce((a, k) => a * (k + 1), 1);
  while (states() > maxStates) {
    // Each merge scans the classes: quadratic in their number (a large layer of distinct costs).
    if (clock?.poll(16)) return null;
    if (vals.length < 2) return null;
    let best = -1;
    let loss = Infinity;
    for (let t = 0; t + 1 < vals.length; t++) {
      const l = counts[t]! * (vals[t]! - vals[t + 1]!);
      if (l < loss) { loss = l; best = t; }
    }
    counts[best + 1]! += counts[best]!;
    vals.splice(best, 1);
    counts.splice(best, 1);
  }
  return { vals, counts };
};
