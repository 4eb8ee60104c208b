/**
 * `--backend-option key=value` (repeatable) for `hplb execute` / `hplb calibrate`: parsed into the options record
 * that `@hplb/runtime`'s `backendCandidate` / `createBackend` take.
 */
import { argumentError } from './io.ts';

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
