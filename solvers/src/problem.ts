/**
 * One layer's placement problem, normalised once for every solver in this package: GQA groups collapsed into atomic
 * items (kv "group"), a dense item × device time matrix, per-device head quotas (equal heads), pinned items, KV
 * residency bookkeeping (kv "replicate": memory caps, a cap on extra copies, per-copy cost) and the previous
 * placement. Also the feasibility checks that turn an impossible constraint set into a typed `infeasible` result
 * naming the constraint, and `LoadState`, the incremental evaluator used by heuristics and local search.
 */
import type { LayerProblem } from './types.ts';
import { MAX_CELLS, instanceSizeIssue } from './deadline.ts';

export type InstanceKind = 'identical' | 'uniform' | 'matrix';

export interface Instance {
  /** Items after collapsing groups. */
  readonly n: number;
  readonly m: number;
  /** time[i * m + d]: time of item i on device d. */
  readonly time: Float64Array;
  /** Speed-1 cost of each item (meaningful for identical / uniform kinds). */
  readonly cost: ReadonlyArray<number>;
  readonly speeds: ReadonlyArray<number>;
  readonly kind: InstanceKind;
  /** Heads per item (1, or the group size). */
  readonly weight: ReadonlyArray<number>;
  /** Exact heads per device (equal heads), or undefined. */
  readonly quota: number | undefined;
  /** pinned[i] = device, or −1. */
  readonly pinned: Int32Array;
  /** KV bookkeeping (only when a KV constraint or cost is present). */
  readonly kv: KvBook | undefined;
  readonly previous: Int32Array | undefined;
  readonly migrationWeight: number;
  /** Original item indices of each collapsed item. */
  readonly members: ReadonlyArray<ReadonlyArray<number>>;
  readonly originalN: number;
  /** No constraint beyond "each item once": pure P||Cmax on identical or uniform devices. */
  readonly plain: boolean;
}

export interface KvBook {
  readonly groups: number;
  /** kvOf[i]: KV group of (collapsed) item i. */
  readonly kvOf: Int32Array;
  /** Item whose device is the group's home (holds the first original item of the group). */
  readonly homeItem: Int32Array;
  /** Max distinct KV groups per device (Infinity = unconstrained). */
  readonly cap: Float64Array;
  readonly maxExtra: number;
  /** Cost per extra copy on device d. */
  readonly copyCost: Float64Array;
  readonly hasCopyCost: boolean;
}

export type Normalized = { readonly ok: true; readonly inst: Instance } | { readonly ok: false; readonly constraint: string; readonly message: string };

const bad = (constraint: string, message: string): Normalized => ({ ok: false, constraint, message });

/** Device counts g' near g for which `units` items can be spread evenly (g' divides units). */
export const nearestEvenDeviceCounts = (units: number, g: number): number[] => {
  const divs: number[] = [];
  for (let k = 1; k <= units; k++) if (units % k === 0) divs.push(k);
  const below = divs.filter((k) => k < g).pop();
  const above = divs.find((k) => k > g);
  return [below, above].filter((x): x is number => x !== undefined);
};

/**
 * Normalise a LayerProblem and check the constraint set; the first violated constraint is reported. The size limits
 * (deadline.ts) come first, before anything proportional to the items or devices is allocated: constraint `devices`
 * (more than `MAX_DEVICES`) or `costs` (more than `MAX_ITEMS` items, or `MAX_CELLS` items × devices).
 */
export const normalize = (p: LayerProblem): Normalized => {
  const N = p.costs.length;
  const m = p.timeMatrix ? (p.timeMatrix[0]?.length ?? p.speeds.length) : p.speeds.length;
  if (m === 0) return bad('devices', 'zero devices: at least one GPU is needed');
  const size = instanceSizeIssue(N, m);
  if (size) return bad(size.path === '$.gpus' ? 'devices' : 'costs', `${size.expected}, got ${size.actual}`);
  if (p.speeds.length !== m) return bad('speeds', `one speed per device: ${p.speeds.length} speeds for ${m} devices`);
  for (const s of p.speeds) if (!(s > 0) || !Number.isFinite(s)) return bad('speeds', `device speeds must be positive, got ${s}`);
  for (const c of p.costs) if (!(c >= 0) || !Number.isFinite(c)) return bad('costs', `item costs must be finite and ≥ 0, got ${c}`);
  if (p.timeMatrix) {
    if (p.timeMatrix.length !== N) return bad('timeMatrix', `one row per item: ${p.timeMatrix.length} rows for ${N} items`);
    for (const row of p.timeMatrix) {
      if (row.length !== m) return bad('timeMatrix', `one column per device: a row has ${row.length} for ${m} devices`);
      for (const v of row) if (!(v >= 0) || !Number.isFinite(v)) return bad('timeMatrix', `times must be finite and ≥ 0, got ${v}`);
    }
  }

  // Collapse groups (kv "group").
  const owner = new Int32Array(N).fill(-1);
  const members: number[][] = [];
  for (const g of p.groups ?? []) {
    const list: number[] = [];
    for (const i of g) {
      if (!(i >= 0 && i < N) || owner[i] !== -1) return bad('groups', `groups must be disjoint item indices in [0, ${N - 1}], got ${i}`);
      owner[i] = members.length;
      list.push(i);
    }
    if (list.length > 0) members.push(list.sort((a, b) => a - b));
  }
  for (let i = 0; i < N; i++) if (owner[i] === -1) {
    owner[i] = members.length;
    members.push([i]);
  }
  // Keep collapsed items ordered by their first original item (so "contiguous" means contiguous heads). Without
  // groups they already are (item i is collapsed item i): no sort.
  const grouped = (p.groups?.length ?? 0) > 0;
  const order = grouped ? members.map((_, j) => j).sort((a, b) => members[a]![0]! - members[b]![0]!) : undefined;
  const mem = order ? order.map((j) => members[j]!) : members;
  if (grouped) for (let j = 0; j < mem.length; j++) for (const i of mem[j]!) owner[i] = j;
  const n = mem.length;

  const time = new Float64Array(n * m);
  const cost: number[] = Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) for (const i of mem[j]!) {
    cost[j]! += p.costs[i]!;
    for (let d = 0; d < m; d++) time[j * m + d]! += p.timeMatrix ? p.timeMatrix[i]![d]! : p.costs[i]! / p.speeds[d]!;
  }
  const kind: InstanceKind = p.timeMatrix ? 'matrix' : p.speeds.every((s) => s === p.speeds[0]) ? 'identical' : 'uniform';
  const weight = mem.map((g) => g.length);

  // Equal heads per device.
  let quota: number | undefined;
  if (p.equalHeadsPerDevice) {
    if (N % m !== 0) {
      const near = nearestEvenDeviceCounts(N, m);
      return bad('equalHeadsPerDevice', `${N} heads cannot be split evenly over ${m} GPUs; nearest feasible GPU counts: ${near.join(', ')}`);
    }
    quota = N / m;
    const sizes = new Set(weight);
    if (sizes.size > 1) return bad('equalHeadsPerDevice', `equal heads per device needs equal-size groups (sizes ${[...sizes].join(', ')})`);
    const s = weight[0] ?? 1;
    if (n % m !== 0 || quota % s !== 0) {
      const near = nearestEvenDeviceCounts(n, m);
      return bad('equalHeadsPerDevice', `${n} whole GQA groups of ${s} heads cannot be split evenly over ${m} GPUs; nearest feasible GPU counts: ${near.join(', ')}`);
    }
  }

  // Pinned.
  const pinned = new Int32Array(n).fill(-1);
  for (const { item, device } of p.pinned ?? []) {
    if (!(item >= 0 && item < N)) return bad('pinned', `pinned item ${item} is not an item index in [0, ${N - 1}]`);
    if (!(device >= 0 && device < m && Number.isInteger(device))) return bad('pinned', `item ${item} pinned to device ${device}, which does not exist (${m} devices)`);
    const j = owner[item]!;
    if (pinned[j] !== -1 && pinned[j] !== device) return bad('pinned', `item ${item} pinned to device ${device}, but its group is pinned to device ${pinned[j]}`);
    pinned[j] = device;
  }
  if (quota !== undefined) {
    const per = Array<number>(m).fill(0);
    for (let j = 0; j < n; j++) if (pinned[j]! >= 0) per[pinned[j]!]! += weight[j]!;
    const d = per.findIndex((c) => c > quota!);
    if (d >= 0) return bad('pinned', `${per[d]} heads pinned to device ${d}, more than the ${quota} each device holds with equal heads`);
  }

  // KV bookkeeping.
  let kv: KvBook | undefined;
  const needKv = p.maxKvPerDevice !== undefined || p.maxExtraKvCopies !== undefined || (p.kvCopyCost !== undefined && p.kvCopyCost.some((c) => c > 0));
  if (needKv) {
    // Without kvGroupOf, each collapsed item is its own KV group (kv "group" mode).
    const kvOrig = p.kvGroupOf ?? Array.from({ length: N }, (_, i) => owner[i]!);
    if (kvOrig.length !== N) return bad('kvGroupOf', `one KV group per item: ${kvOrig.length} for ${N} items`);
    const kvOf = new Int32Array(n);
    let groups = 0;
    for (const g of kvOrig) if (!(Number.isInteger(g) && g >= 0 && g * m < MAX_CELLS)) return bad('kvGroupOf', `KV group indices must be integers in [0, ${Math.floor(MAX_CELLS / m) - 1}] (${m} devices), got ${g}`);
    for (let j = 0; j < n; j++) {
      const g = kvOrig[mem[j]![0]!]!;
      for (const i of mem[j]!) if (kvOrig[i] !== g) return bad('groups', `an atomic group mixes KV groups ${g} and ${kvOrig[i]}`);
      kvOf[j] = g;
      groups = Math.max(groups, g + 1);
    }
    const homeItem = new Int32Array(groups).fill(-1);
    const firstOrig = new Float64Array(groups).fill(Infinity);
    for (let j = 0; j < n; j++) {
      const g = kvOf[j]!;
      if (mem[j]![0]! < firstOrig[g]!) {
        firstOrig[g] = mem[j]![0]!;
        homeItem[g] = j;
      }
    }
    const cap = new Float64Array(m).fill(Infinity);
    if (p.maxKvPerDevice) {
      if (p.maxKvPerDevice.length !== m) return bad('memory', `one memory capacity per device: ${p.maxKvPerDevice.length} for ${m} devices`);
      p.maxKvPerDevice.forEach((c, d) => { cap[d] = c === null ? Infinity : Math.floor(c); });
    }
    const usedGroups = new Set(Array.from(kvOf)).size;
    let capSum = 0;
    for (let d = 0; d < m; d++) capSum += cap[d]!;
    if (capSum < usedGroups)
      return bad('memory', `memory too small: ${usedGroups} KV heads per layer need a home but the devices hold only ${capSum} (per-layer share of memory)`);
    // Pinned items force KV groups onto devices.
    const forced: Set<number>[] = Array.from({ length: m }, () => new Set<number>());
    for (let j = 0; j < n; j++) if (pinned[j]! >= 0) forced[pinned[j]!]!.add(kvOf[j]!);
    for (let d = 0; d < m; d++) if (forced[d]!.size > cap[d]!)
      return bad('pinned', `more pinned KV heads (${forced[d]!.size}) than fit in device ${d}'s memory (${cap[d]})`);
    const copyCost = new Float64Array(m);
    if (p.kvCopyCost) p.kvCopyCost.forEach((c, d) => { copyCost[d] = c; });
    const maxExtra = p.maxExtraKvCopies ?? Infinity;
    if (maxExtra < 0) return bad('kvReplicationCap', `the KV replication cap must be ≥ 0, got ${maxExtra}`);
    kv = { groups, kvOf, homeItem, cap, maxExtra, copyCost, hasCopyCost: copyCost.some((c) => c > 0) };
  }

  let previous: Int32Array | undefined;
  if (p.previous) {
    if (p.previous.length !== N) return bad('previous', `a previous placement with one device per item: ${p.previous.length} for ${N}`);
    previous = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const d = p.previous[mem[j]![0]!]!;
      previous[j] = d >= 0 && d < m ? d : -1;
    }
  }
  const plain = kind !== 'matrix' && quota === undefined && kv === undefined && previous === undefined && pinned.every((x) => x < 0);
  return {
    ok: true,
    inst: { n, m, time, cost, speeds: [...p.speeds], kind, weight, quota, pinned, kv, previous, migrationWeight: p.migrationWeight ?? 0, members: mem, originalN: N, plain },
  };
};

/** Expand a collapsed-item assignment back to the original items. */
export const expandAssignment = (inst: Instance, assign: ArrayLike<number>): number[] => {
  const out = Array<number>(inst.originalN).fill(0);
  for (let j = 0; j < inst.n; j++) for (const i of inst.members[j]!) out[i] = assign[j]!;
  return out;
};

/** Collapse an original-item assignment (e.g. a warm start); the first member decides. */
export const collapseAssignment = (inst: Instance, assign: ArrayLike<number>): Int32Array => {
  const out = new Int32Array(inst.n);
  for (let j = 0; j < inst.n; j++) out[j] = assign[inst.members[j]![0]!]!;
  return out;
};

/**
 * Incremental loads and constraint counters for one assignment. `move` keeps everything exact, including the KV
 * copy terms (a move changes only the two devices involved, even when it moves a group's home).
 */
export class LoadState {
  readonly assign: Int32Array;
  readonly load: Float64Array;
  /** Heads per device. */
  readonly heads: Int32Array;
  /** kvCount[d * groups + g]: items of KV group g on device d. */
  readonly kvCount: Int32Array;
  /** Distinct KV groups per device. */
  readonly distinct: Int32Array;
  /** Extra copies charged to device d. */
  readonly extra: Int32Array;
  extraTotal = 0;
  /** Bumped on every change of a device's contents (lets local search skip pairs it already found unimprovable). */
  readonly version: Int32Array;

  constructor(readonly inst: Instance, assign: ArrayLike<number>) {
    const { n, m, kv } = inst;
    this.assign = Int32Array.from(assign as ArrayLike<number>);
    this.load = new Float64Array(m);
    this.heads = new Int32Array(m);
    this.kvCount = new Int32Array(kv ? m * kv.groups : 0);
    this.distinct = new Int32Array(m);
    this.extra = new Int32Array(m);
    this.version = new Int32Array(m);
    for (let i = 0; i < n; i++) {
      const d = this.assign[i]!;
      if (d < 0) continue;
      this.load[d]! += inst.time[i * m + d]!;
      this.heads[d]! += inst.weight[i]!;
      if (kv) {
        const k = d * kv.groups + kv.kvOf[i]!;
        if (this.kvCount[k]!++ === 0) this.distinct[d]!++;
      }
    }
    if (kv) for (let g = 0; g < kv.groups; g++) {
      const hi = kv.homeItem[g]!;
      if (hi < 0) continue;
      const home = this.assign[hi]!; // −1 while unplaced: every host is then charged as a copy
      for (let d = 0; d < m; d++) if (d !== home && this.kvCount[d * kv.groups + g]! > 0) {
        this.extra[d]!++;
        this.extraTotal++;
        this.load[d]! += kv.copyCost[d]!;
      }
    }
  }

  makespan(): number {
    let mx = 0;
    for (let d = 0; d < this.inst.m; d++) if (this.load[d]! > mx) mx = this.load[d]!;
    return mx;
  }

  argmax(): number {
    let best = 0;
    for (let d = 1; d < this.inst.m; d++) if (this.load[d]! > this.load[best]!) best = d;
    return best;
  }

  private contrib(g: number, d: number): number {
    const kv = this.inst.kv!;
    return this.kvCount[d * kv.groups + g]! > 0 && this.assign[kv.homeItem[g]!] !== d ? 1 : 0;
  }

  /** Place an unplaced item (assign −1) on device `to` (no feasibility check). */
  place(i: number, to: number): void {
    const { m, kv, time, weight } = this.inst;
    let g = -1;
    let before = 0;
    if (kv) {
      g = kv.kvOf[i]!;
      before = this.contrib(g, to);
      this.extra[to]! -= before;
      this.load[to]! -= before * kv.copyCost[to]!;
    }
    this.load[to]! += time[i * m + to]!;
    this.heads[to]! += weight[i]!;
    this.assign[i] = to;
    if (kv) {
      if (this.kvCount[to * kv.groups + g]!++ === 0) this.distinct[to]!++;
      const b = this.contrib(g, to);
      this.extra[to]! += b;
      this.load[to]! += b * kv.copyCost[to]!;
      this.extraTotal += b - before;
    }
  }

  /** Undo `place`: item i (on its device) becomes unplaced again. */
  unplace(i: number): void {
    const { m, kv, time, weight } = this.inst;
    const from = this.assign[i]!;
    if (from < 0) return;
    this.version[from]!++;
    let g = -1;
    let before = 0;
    if (kv) {
      g = kv.kvOf[i]!;
      before = this.contrib(g, from);
      this.extra[from]! -= before;
      this.load[from]! -= before * kv.copyCost[from]!;
    }
    this.load[from]! -= time[i * m + from]!;
    this.heads[from]! -= weight[i]!;
    this.assign[i] = -1;
    if (kv) {
      if (--this.kvCount[from * kv.groups + g]! === 0) this.distinct[from]!--;
      const b = this.contrib(g, from);
      this.extra[from]! += b;
      this.load[from]! += b * kv.copyCost[from]!;
      this.extraTotal += b - before;
    }
    if (this.load[from]! < 0 && this.load[from]! > -1e-9) this.load[from] = 0;
  }

  /** Can unplaced-or-elsewhere item i go to device `to` without breaking quota, pin or KV caps (given the rest)? */
  canHost(i: number, to: number): boolean {
    const { inst } = this;
    if (inst.pinned[i]! >= 0 && inst.pinned[i] !== to) return false;
    if (inst.quota !== undefined && this.assign[i] !== to && this.heads[to]! + inst.weight[i]! > inst.quota) return false;
    const kv = inst.kv;
    if (kv) {
      const g = kv.kvOf[i]!;
      if (this.kvCount[to * kv.groups + g] === 0 && this.distinct[to]! + 1 > kv.cap[to]!) return false;
    }
    return true;
  }

  /** Move item i to device `to` (no feasibility check). */
  move(i: number, to: number): void {
    const { m, kv, time, weight } = this.inst;
    const from = this.assign[i]!;
    if (from === to) return;
    this.version[from]!++;
    this.version[to]!++;
    let g = -1;
    let before = 0;
    if (kv) {
      g = kv.kvOf[i]!;
      before = this.contrib(g, from) + this.contrib(g, to);
      const a = this.contrib(g, from);
      const b = this.contrib(g, to);
      this.extra[from]! -= a;
      this.extra[to]! -= b;
      this.load[from]! -= a * kv.copyCost[from]!;
      this.load[to]! -= b * kv.copyCost[to]!;
    }
    this.load[from]! -= time[i * m + from]!;
    this.load[to]! += time[i * m + to]!;
    this.heads[from]! -= weight[i]!;
    this.heads[to]! += weight[i]!;
    this.assign[i] = to;
    if (kv) {
      const kf = from * kv.groups + g;
      const kt = to * kv.groups + g;
      if (--this.kvCount[kf]! === 0) this.distinct[from]!--;
      if (this.kvCount[kt]!++ === 0) this.distinct[to]!++;
      const a = this.contrib(g, from);
      const b = this.contrib(g, to);
      this.extra[from]! += a;
      this.extra[to]! += b;
      this.load[from]! += a * kv.copyCost[from]!;
      this.load[to]! += b * kv.copyCost[to]!;
      this.extraTotal += a + b - before;
    }
    // Guard against drift to tiny negatives.
    if (this.load[from]! < 0 && this.load[from]! > -1e-9) this.load[from] = 0;
  }

  /** KV constraints (memory cap, replication cap) hold on every device. */
  kvOk(): boolean {
    const kv = this.inst.kv;
    if (!kv) return true;
    if (this.extraTotal > kv.maxExtra) return false;
    for (let d = 0; d < this.inst.m; d++) if (this.distinct[d]! > kv.cap[d]!) return false;
    return true;
  }

  /** Every constraint holds (quota, pinned, KV). */
  feasible(): boolean {
    const { inst } = this;
    if (inst.quota !== undefined) for (let d = 0; d < inst.m; d++) if (this.heads[d] !== inst.quota) return false;
    for (let i = 0; i < inst.n; i++) if (inst.pinned[i]! >= 0 && this.assign[i] !== inst.pinned[i]) return false;
    return this.kvOk();
  }

  moves(): number {
    const prev = this.inst.previous;
    if (!prev) return 0;
    let k = 0;
    for (let i = 0; i < this.inst.n; i++) if (prev[i]! >= 0 && prev[i] !== this.assign[i]) k += this.inst.weight[i]!;
    return k;
  }
}

/** Makespan of an assignment (collapsed items), KV copy terms included. */
export const makespanOf = (inst: Instance, assign: ArrayLike<number>): number => new LoadState(inst, assign).makespan();
