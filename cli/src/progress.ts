/**
 * A progress bar on stderr for long operations. It appears only once the operation has run for `delayMs`
 * (default 1 s) and only when stderr is a terminal (or HPLB_PROGRESS=1), so quick runs and pipes stay clean.
 */
import type { Io } from './io.ts';

export interface Progress {
  update(done: number, total: number, label?: string): void;
  finish(): void;
}

export const progressBar = (io: Io, title: string, delayMs = 1000): Progress => {
  const start = Date.now();
  const enabled = io.tty || process.env['HPLB_PROGRESS'] === '1';
  let drawn = false;
  let last = 0;
  return {
    update(done, total, label) {
      if (!enabled) return;
      const now = Date.now();
      if (now - start < delayMs || (now - last < 100 && done < total)) return;
      last = now;
      const width = 30;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const fill = Math.round(frac * width);
      const secs = ((now - start) / 1000).toFixed(1);
      io.err(`\r${title} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${secs}s${label ? ' ' + label : ''}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) io.err('\n');
    },
  };
};
