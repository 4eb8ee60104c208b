/**
 * Flags shared by `hplb execute` and `hplb calibrate`: `--backend-option key=value` (repeatable), parsed into the
 * options record that `@hplb/runtime`'s `createBackend` takes; the timing-protocol flags; and the mapping of the
 * runtime library's option names to these flags in error messages.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '@hplb/core';
import { argumentError, orFail } from './io.ts';

export const BACKEND_OPTION_FLAG = '--backend-option';
const OPTION_EXPECTED = 'key=value backend options (repeatable or comma-separated, e.g. mode=cpu or idleReleaseMs=0)';

/** A value as typed: true/false → boolean, a decimal number → number, anything else → the string. */
const optionValue = (v: string): unknown =>
  v === 'true' ? true : v === 'false' ? false : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number(v) : v;

/** Parse `key=value[,key=value...]` items; a malformed item or a repeated key throws a CliFailure naming it. */
export const parseBackendOptions = (items: ReadonlyArray<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const item of items)
    for (const pair of item.split(',')) {
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq).trim() : '';
      const value = eq > 0 ? pair.slice(eq + 1).trim() : '';
      if (key === '' || value === '' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw argumentError(BACKEND_OPTION_FLAG, OPTION_EXPECTED, pair);
      if (out[key] !== undefined) throw argumentError(BACKEND_OPTION_FLAG, `each backend option once (${key} is given twice)`, pair);
      out[key] = optionValue(value);
    }
  return out;
};

/**
 * Take every `--backend-option X` / `--backend-option=X` out of argv (the shared flag parser keeps one value per
 * flag; this one is repeatable): the remaining argv for `parseArgs`, and the parsed options (undefined when none).
 */
export const takeBackendOptions = (argv: ReadonlyArray<string>): { argv: string[]; options: Record<string, unknown> | undefined } => {
  const rest: string[] = [];
  const items: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    if (a === BACKEND_OPTION_FLAG) {
      const v = argv[++i];
      if (v === undefined) throw argumentError(BACKEND_OPTION_FLAG, OPTION_EXPECTED);
      items.push(v);
    } else if (a.startsWith(`${BACKEND_OPTION_FLAG}=`)) items.push(a.slice(BACKEND_OPTION_FLAG.length + 1));
    else rest.push(a);
  }
  return { argv: rest, options: items.length > 0 ? parseBackendOptions(items) : undefined };
};

/**
 * The library speaks of option names and JSON paths (`options.contexts`, `$.backend`); the CLI of its flags. This
 * maps the paths of a library error (and option names quoted in its words) to the flags that set them.
 */
export const withFlags = (e: HplbError, flags: Readonly<Record<string, string>>): HplbError => {
  const words = (s: string) => Object.entries(flags).reduce((t, [k, v]) => t.split(k).join(v), s);
  return { ...e, issues: e.issues.map((i) => ({ ...i, path: flags[i.path] ?? i.path, expected: words(i.expected), ...(i.actual !== undefined ? { actual: words(i.actual) } : {}) })) };
};

/** `orFail` for library results, with `withFlags` applied to a Left. */
export const orFailFlags = <A>(e: E.Either<HplbError, A>, flags: Readonly<Record<string, string>>, exitCode = 1): A =>
  orFail(E.mapLeft((x: HplbError) => withFlags(x, flags))(e), exitCode);

/** Timing-protocol flags shared by `hplb calibrate` and `hplb execute`. */
export const TIMING_FLAGS = ['warmups', 'max-spread', 'max-remeasures'] as const;
export const TIMING_HELP = `  --warmups W         warm-up runs per point, reported apart (default 1)
  --max-spread X      largest spread (IQR/median) a point may keep (default 0.05); above it the point is re-measured,
                      then flagged noisy
  --max-remeasures R  extra runs per point at most, spent on re-measures (default 5)
`;
export const TIMING_OPTION_FLAGS: Readonly<Record<string, string>> = {
  'options.warmups': '--warmups', 'options.maxSpread': '--max-spread', 'options.maxRemeasures': '--max-remeasures', 'options.repeats': '--repeats',
  'options.force': '--force', '$.backend': '--backend',
};
