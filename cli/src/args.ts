/**
 * Flag parsing shared by every command: `--name value`, `--name=value`, boolean `--flag`, positionals.
 * Typed getters throw `CliFailure` (exit 2) with the flag named, so each command reads its flags in a few lines.
 */
import { argumentError } from './io.ts';

export interface FlagSpec {
  /** Flags that take a value. */
  readonly values: ReadonlyArray<string>;
  /** Flags that are booleans. */
  readonly booleans: ReadonlyArray<string>;
}

export class Args {
  constructor(
    readonly positionals: string[],
    private readonly vals: Map<string, string>,
    private readonly bools: Set<string>,
  ) {}

  has(name: string): boolean {
    return this.vals.has(name) || this.bools.has(name);
  }
  flag(name: string): boolean {
    return this.bools.has(name);
  }
  string(name: string): string | undefined {
    return this.vals.get(name);
  }
  stringOr(name: string, dflt: string): string {
    return this.vals.get(name) ?? dflt;
  }
  oneOf<T extends string>(name: string, choices: ReadonlyArray<T>, dflt: T): T {
    const v = this.vals.get(name);
    if (v === undefined) return dflt;
    if (!(choices as ReadonlyArray<string>).includes(v)) throw argumentError(`--${name}`, `one of ${choices.join('|')}`, v);
    return v as T;
  }
  number(name: string, check?: (n: number) => boolean, expected = 'a number'): number | undefined {
    const v = this.vals.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (check && !check(n))) throw argumentError(`--${name}`, expected, v);
    return n;
  }
  int(name: string, check?: (n: number) => boolean, expected = 'an integer'): number | undefined {
    return this.number(name, (n) => Number.isInteger(n) && (!check || check(n)), expected);
  }
  numberList(name: string, check?: (n: number) => boolean, expected = 'a comma-separated list of numbers'): number[] | undefined {
    const v = this.vals.get(name);
    if (v === undefined) return undefined;
    const parts = v.split(',').map((s) => s.trim());
    const out = parts.map(Number);
    if (parts.some((p) => p === '') || out.some((n) => !Number.isFinite(n) || (check !== undefined && !check(n)))) throw argumentError(`--${name}`, expected, v);
    return out;
  }
}

export const parseArgs = (argv: ReadonlyArray<string>, spec: FlagSpec): Args => {
  const positionals: string[] = [];
  const vals = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (spec.booleans.includes(name)) {
      if (eq >= 0) throw argumentError(`--${name}`, 'no value (it is a switch)', a.slice(eq + 1));
      bools.add(name);
    } else if (spec.values.includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw argumentError(`--${name}`, 'a value after the flag');
      vals.set(name, v);
    } else {
      const known = [...spec.values, ...spec.booleans].map((f) => `--${f}`).join(' ');
      throw argumentError(a, `a known flag (${known})`);
    }
  }
  return new Args(positionals, vals, bools);
};
