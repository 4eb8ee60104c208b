/**
 * The wall-clock deadline inside the builders and the bounds (`Deadline`), and the size limits of one instance
 * (`MAX_ITEMS`, `MAX_DEVICES`, `MAX_CELLS`, `instanceSizeIssue`).
 *
 * The anytime searches (local search, exact, branch and bound) always read the clock; the builders (LPT, KK,
 * MultiFit, the greedy ones) and the bounds (pigeonhole, the lifted L2 / L3, the relaxed DP's class merging) used
 * not to, and on a large layer they ran for minutes before the first check. Each now polls a `Deadline`: once it
 * has passed, a builder gives up (null: the registry then uses round robin, the cheapest valid placement) and a
 * bound returns what it has proven so far (a maximum over fewer terms is still a lower bound, never cached). Once
 * passed, a deadline stays passed, so every later builder or bound stops at its first poll. With an `Effort`, a
 * passed deadline is the effort's clock stop (`clockHit`: the layer is then reported `timedout`).
 * Checks only ever fire after the deadline: a solve that finishes within its time limit is unchanged by them.
 * `Deadline` is used by registry.ts, heuristics.ts, bounds.ts (and ./bounds/) and exact.ts (local.ts reads the clock
 * itself); the size limits by problem.ts (`normalize`) and by callers that allocate per GPU before solving.
 */
import type { Effort } from './effort.ts';

/** A deadline (a `performance.now()` time) that loops poll. */
export class Deadline {
  /** The deadline has passed (sticky). */
  hit = false;
  private calls = 0;

  constructor(readonly at: number, private readonly effort?: Effort) {}

  /** Read the clock now: true once the deadline has passed (and from then on). */
  passed(): boolean {
    if (this.hit) return true;
    if (!(performance.now() > this.at)) return false;
    this.hit = true;
    this.effort?.stopByClock();
    return true;
  }

  /** `passed()`, reading the clock only every `every`-th call (for loops whose steps cost little). */
  poll(every = 256): boolean {
    if (this.hit) return true;
    if (++this.calls < every) return false;
    this.calls = 0;
    return this.passed();
  }
}

/**
 * Most items (heads, or jobs of a raw instance) one instance may have: 2^19 = 524,288. Every solver stays below 1 GB
 * there (measured: KK, which keeps a partial solution per item, peaks at ≈ 0.7 GB of process memory at 524,288 items
 * on 16 GPUs; LPT at ≈ 0.25 GB), and the linear set-up (normalisation, LPT's sort) takes well under a second. Larger
 * instances are refused (constraint `costs`) before anything proportional to them is allocated.
 */
export const MAX_ITEMS = 1 << 19;
/** Most devices (GPUs) one instance may have: 65,536. Nothing proportional to a larger count is allocated. */
export const MAX_DEVICES = 1 << 16;
/**
 * Most items × devices cells one instance may have: 2^23 = 8,388,608 (the dense item × device time matrix, 64 MiB).
 * E.g. 524,288 items on 16 GPUs, 65,536 items on 128 GPUs, or 128 items on 65,536 GPUs.
 */
export const MAX_CELLS = 1 << 23;

/** What is wrong with an instance's size, naming the JSON path of a raw instance (`$.costs`, `$.gpus`). */
export interface SizeIssue {
  readonly path: '$.costs' | '$.gpus';
  readonly expected: string;
  readonly actual: string;
}

const count = (x: number) => x.toLocaleString('en-US');

/**
 * Check an instance's size before anything proportional to it is allocated: `items` (the number of costs) and `gpus`
 * (a GPU count, as given: any JavaScript value). Total: undefined when both are in range, otherwise the first issue
 * with its path and the accepted range. `gpus` must be an integer in [1, MAX_DEVICES]; items ≤ MAX_ITEMS and
 * items × gpus ≤ MAX_CELLS.
 */
export const instanceSizeIssue = (items: unknown, gpus: unknown): SizeIssue | undefined => {
  const shown = (x: unknown) => (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean' ? String(x) : typeof x === 'string' ? JSON.stringify(x.slice(0, 40)) : x === null ? 'null' : typeof x);
  if (typeof gpus !== 'number' || !Number.isInteger(gpus) || gpus < 1 || gpus > MAX_DEVICES)
    return { path: '$.gpus', expected: `an integer GPU count in [1, ${count(MAX_DEVICES)}]`, actual: shown(gpus) };
  if (typeof items !== 'number' || !Number.isInteger(items) || items < 0)
    return { path: '$.costs', expected: 'a list of item costs', actual: shown(items) };
  if (items > MAX_ITEMS) return { path: '$.costs', expected: `at most ${count(MAX_ITEMS)} items per instance`, actual: `${count(items)} items` };
  if (items * gpus > MAX_CELLS)
    return { path: '$.costs', expected: `at most ${count(MAX_CELLS)} items × GPUs per instance (${count(Math.floor(MAX_CELLS / gpus))} items on ${count(gpus)} GPUs)`, actual: `${count(items)} items` };
  return undefined;
};
