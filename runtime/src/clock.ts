/**
 * Clocks for the timing protocol: how a run's time is read (wall time everywhere, process CPU time in Node).
 * `timeRun` reads the chosen clock and, alongside, both wall and process CPU time, so the protocol (`timing.ts`) can
 * see when a single-threaded run was descheduled (wall / CPU above its threshold). No Node built-ins: the browser
 * page's calibration sweep uses it (`@hplb/runtime/calibration`). Used by calibration, the executor's devices and
 * examples/bench-kernels.ts.
 */
import type { Reading } from './timing.ts';

/**
 * "wall": elapsed time (GPU backends: the device works while the thread waits).
 * "cpu": process CPU time (user + system) of the run, for the CPU backend on a machine shared with other jobs:
 * other processes then do not inflate the measurement. Valid while one thread computes at a time.
 */
export type Clock = 'wall' | 'cpu';
export const CLOCKS: ReadonlyArray<Clock> = ['wall', 'cpu'];
export const defaultClock = (backend: string): Clock => (backend === 'cpu' ? 'cpu' : 'wall');

/** Process CPU seconds (user + system), or undefined where there is no process clock (browsers). */
const cpuSeconds = (): number | undefined => {
  if (typeof process === 'undefined' || typeof process.cpuUsage !== 'function') return undefined;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** A reading of the clock in seconds (the cpu clock reads NaN where there is no process clock: browsers). */
export const clockNow = (clock: Clock): number => (clock === 'wall' ? performance.now() / 1000 : cpuSeconds() ?? NaN);

let settle: (() => void | Promise<void>) | undefined;

/**
 * Make every `timeRun` start from a settled heap: `collect` (a full garbage collection; Node registers V8's in
 * `heap.ts`, imported by `@hplb/runtime` and the executor's device threads) runs before each run, untimed.
 * Kernels that allocate (the CPU backend's outputs and scratch) otherwise pay for earlier runs' garbage at random.
 */
export const settleHeapWith = (collect: (() => void | Promise<void>) | undefined): void => { settle = collect; };

/** Whether `timeRun` collects the heap before each run (`settleHeapWith`). */
export const settlesHeap = (): boolean => settle !== undefined;

/**
 * Run `f` once and read its time on `clock`, with wall and CPU seconds for contention detection. Where there is no
 * process clock (browsers) the reading has no `cpuSeconds`, and the wall clock is the only usable one. The heap is
 * settled first when a collector is registered (`settleHeapWith`), untimed.
 */
export const timeRun = async <A>(clock: Clock, f: () => Promise<A>): Promise<{ value: A; reading: Reading }> => {
  await settle?.();
  const w0 = performance.now(), c0 = cpuSeconds();
  const value = await f();
  const c1 = cpuSeconds(), w1 = performance.now();
  const wallSeconds = (w1 - w0) / 1000;
  const cpu = c0 === undefined || c1 === undefined ? undefined : c1 - c0;
  return { value, reading: { seconds: clock === 'wall' ? wallSeconds : cpu ?? NaN, wallSeconds, ...(cpu !== undefined ? { cpuSeconds: cpu } : {}) } };
};

/**
 * The wall / CPU check of the protocol applies to the cpu clock only: with the wall clock (GPU backends) the thread
 * waits for the device and its CPU time means nothing. Parallel CPU work (worker threads) has wall / CPU ≤ 1 and is
 * never flagged by it.
 */
export const wallCpuCheckApplies = (clock: Clock): boolean => clock === 'cpu';
