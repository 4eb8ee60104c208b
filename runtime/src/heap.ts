/**
 * Node: registers V8's full garbage collection as the timing clock's heap settler (`settleHeapWith` in clock.ts), so
 * every timed run starts from a collected heap. Measured on the CPU backend at N = 1024, one key block: the same run
 * on the same inputs took 5.8-5.9 ms after a collection and 5.9-7.6 ms (bimodal) without, so tasks timed among
 * other tasks (the executor) and one point timed back to back (calibration) disagreed by up to 2x. Imported for its
 * effect by `@hplb/runtime` (index.ts) and by the executor's device runner (registering sets no flag; the first timed
 * run exposes the collection); `--expose-gc` is not needed.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { settleHeapWith } from './clock.ts';

let exposed: (() => void) | undefined | null = null; // null: not looked up yet

/**
 * V8's full collection. `--expose-gc` is set on the first call, not on import: importing `@hplb/runtime` (or
 * `hplb/node`) changes no V8 flag until something is timed. A no-op where the collection cannot be exposed.
 */
export const v8Collect: (() => void) | undefined = (): void => {
  if (exposed === null) {
    exposed = (() => {
      try {
        const existing = (globalThis as { gc?: unknown }).gc;
        if (typeof existing === 'function') return existing as () => void;
        setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as unknown;
        return typeof gc === 'function' ? (gc as () => void) : undefined;
      } catch {
        return undefined;
      }
    })();
  }
  exposed?.();
};

/**
 * Collect, then give V8's helper threads a few milliseconds to finish sweeping: otherwise they sweep during the next
 * timed run and the process CPU clock counts it (measured: CPU 7.7 ms for 5.7 ms of wall time without the pause).
 */
export const settleHeap: (() => Promise<void>) | undefined = async (): Promise<void> => {
  v8Collect!();
  await new Promise<void>((resolve) => setTimeout(resolve, SETTLE_MS));
};
export const SETTLE_MS = 3;

settleHeapWith(settleHeap);
