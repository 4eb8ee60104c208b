/**
 * Library errors name option names and JSON paths (`$.gpus`, `$.kvCopies`, `$.out`); the CLI speaks of its flags.
 * Each command keeps one small table from the paths its library call can report to the flag that set them (and
 * the phrases of the expected text that name options), so its printed messages name flags. Errors whose path is
 * not in the table (a JSON path inside an input file, say) pass through unchanged.
 */
import type { HplbError } from 'hplb';
import { CliFailure } from './io.ts';

export interface FlagRule {
  /** The flag (or positional) that set this option, printed as the error's path (default: the path is kept). */
  readonly flag?: string;
  /** Phrases of the library's expected text → the CLI's wording (e.g. 'one context length' → 'one --context N'). */
  readonly phrases?: Readonly<Record<string, string>>;
  /** Exit code of the failure (default 1; usage errors are 2), or one per error code. */
  readonly exitCode?: number | Partial<Record<HplbError['code'], number>>;
  /** Drop the error's file (an option, not a file, was wrong). */
  readonly dropFile?: boolean;
}

/** Library path → flag. Keys are exact paths; `[*]` matches any index. */
export type FlagTable = Readonly<Record<string, FlagRule>>;

const ruleFor = (table: FlagTable, path: string): FlagRule | undefined => table[path] ?? table[path.replace(/\[\d+\]/g, '[*]')];

/** The CLI's failure for a library error: paths in the table become their flags; exit code from the first issue's rule. */
export const flagFailure = (table: FlagTable, e: HplbError, exitCode = 1): CliFailure => {
  let code = exitCode;
  let dropFile = false;
  const issues = e.issues.map((i, k) => {
    const rule = ruleFor(table, i.path);
    if (rule === undefined) return i;
    if (k === 0) {
      code = typeof rule.exitCode === 'number' ? rule.exitCode : (rule.exitCode?.[e.code] ?? exitCode);
      dropFile = rule.dropFile ?? false;
    }
    const expected = Object.entries(rule.phrases ?? {}).reduce((s, [from, to]) => s.split(from).join(to), i.expected);
    return { ...i, path: rule.flag ?? i.path, expected };
  });
  const { file: _file, ...rest } = e;
  return new CliFailure(dropFile ? { ...rest, issues } : { ...e, issues }, code);
};

/** Unwrap a library result at the edge, naming flags instead of option paths (see `flagFailure`). */
export const orFailFlags = <A>(table: FlagTable, r: { readonly _tag: 'Left'; readonly left: HplbError } | { readonly _tag: 'Right'; readonly right: A }, exitCode = 1): A => {
  if (r._tag === 'Left') throw flagFailure(table, r.left, exitCode);
  return r.right;
};
