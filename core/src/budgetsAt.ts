/**
 * Token budgets from a profile at a context length N: `budgetsAt(profile, N, options)` gives tokens per query for
 * every head, `[layer][queryHead]`, each an integer in [1, N]. What solvers, `hplb plan` and `hplb inspect` consume.
 *
 * Per kind:
 *   - `curve`: the fewest tokens whose recovered attention mass reaches `recoveryTarget` (default 0.95,
 *     `DEFAULT_RECOVERY_TARGET`). The curve is the head's points plus the implied (0 tokens, 0 mass) and
 *     (reference N, mass 1: dense attention keeps everything), linearly interpolated, rounded up to whole tokens.
 *     The token count carries over to other N unchanged (`curveScaling: "fixed"`, default) or in proportion to N
 *     (`"proportional"`); either way capped at N.
 *   - `required`: min(N, budget): the budget is a token count that does not grow with N (MInference's vertical +
 *     slash sizes). Top-p profiles (XAttention: `topP`, empty `budgets`) hold mass targets, not tokens: they need
 *     recovery curves of the same model (`options.curves`); each head's target is then read off its curve as above.
 *     Without curves the result is an error naming what is missing.
 *   - `elastic`: span(N) = alpha + beta·N; with a `spanRule` (MoA) clamped to N, rounded up to a multiple, raised to
 *     the minimum, then capped at N; without one, clamped to [1, N] and rounded up.
 */
import * as E from 'fp-ts/lib/Either.js';
import { hplbError, issue, words, type HplbError } from './errors.ts';
import { checkProfile, type CurveProfile, type Profile } from './profile.ts';

/** A recovery curve as plain numbers (what `HeadCurve` decodes to). */
export interface CurvePoints {
  readonly tokens: ReadonlyArray<number>;
  readonly mass: ReadonlyArray<number>;
}

// ---------------------------------------------------------------- model

/** The recovery target used when none is given: keep 95% of each head's attention mass. */
export const DEFAULT_RECOVERY_TARGET = 0.95;

export interface BudgetsAtOptions {
  /** Curve profiles: the mass each head must keep, in [0, 1]. Default `DEFAULT_RECOVERY_TARGET`. */
  readonly recoveryTarget?: number;
  /** Curve token counts at N ≠ the reference N: unchanged ("fixed", default) or scaled by N / reference N. */
  readonly curveScaling?: 'fixed' | 'proportional';
  /** Recovery curves of the same model, needed to turn top-p targets (XAttention) into tokens. */
  readonly curves?: CurveProfile;
  /** Named in errors. */
  readonly file?: string;
}

// ---------------------------------------------------------------- operations

/** Round up, forgiving float noise (1e-9 tokens), and clamp to [1, n]. */
const tokens = (x: number, n: number): number => Math.min(n, Math.max(1, Math.ceil(x - 1e-9)));

/**
 * Fewest tokens (real-valued, before rounding) at which a curve measured at reference context `n0` reaches `target`
 * mass, with the implied endpoints (0, 0) and (n0, 1), linear in between.
 */
export const curveTokensFor = (c: CurvePoints, n0: number, target: number): number => {
  const pts: [number, number][] = [[0, 0]];
  for (let i = 0; i < c.tokens.length; i++) pts.push([c.tokens[i]!, c.mass[i]!]);
  pts.push([n0, 1]);
  if (pts[0]![1] >= target) return 0;
  for (let i = 1; i < pts.length; i++) {
    const [t1, m1] = pts[i]!;
    if (m1 >= target) {
      const [t0, m0] = pts[i - 1]!;
      return m1 === m0 || t1 <= t0 ? t1 : t0 + ((target - m0) / (m1 - m0)) * (t1 - t0);
    }
  }
  return n0;
};

/** Mass recovered by `b` tokens on a curve (same interpolation); the inverse of `curveTokensFor`. */
export const curveMassAt = (c: CurvePoints, n0: number, b: number): number => {
  const pts: [number, number][] = [[0, 0]];
  for (let i = 0; i < c.tokens.length; i++) pts.push([c.tokens[i]!, c.mass[i]!]);
  pts.push([n0, 1]);
  let best = 0;
  for (let i = 1; i < pts.length; i++) {
    const [t0, m0] = pts[i - 1]!;
    const [t1, m1] = pts[i]!;
    if (b >= t1) best = Math.max(best, m1);
    else if (b > t0 && t1 > t0) best = Math.max(best, m0 + ((b - t0) / (t1 - t0)) * (m1 - m0));
  }
  return Math.min(1, best);
};

/** Elastic span at n, in tokens, with an optional runtime rounding rule. */
export const elasticSpan = (alpha: number, beta: number, n: number, rule?: { readonly multiple: number; readonly minimum: number }): number => {
  const span = alpha + beta * n;
  if (!rule) return tokens(span, n);
  const clamped = Math.min(n, span);
  const rounded = Math.ceil(clamped / rule.multiple - 1e-12) * rule.multiple;
  return tokens(Math.max(rule.minimum, rounded), n);
};

const fromCurves = (
  curves: CurveProfile,
  n: number,
  targetOf: (l: number, h: number) => number,
  scaling: 'fixed' | 'proportional',
): number[][] =>
  curves.curves.map((row, l) =>
    row.map((c, h) => {
      const b = curveTokensFor(c, curves.contextLength, targetOf(l, h));
      return tokens(scaling === 'proportional' ? (b * n) / curves.contextLength : b, n);
    }),
  );

/** Tokens per query per head at context length n (`[layer][queryHead]`, integers in [1, n]). */
export const budgetsAt = (profile: Profile, n: number, options: BudgetsAtOptions = {}): E.Either<HplbError, number[][]> => {
  const file = options.file;
  const err = (code: 'argument' | 'decode', path: string, expected: string, actual?: unknown) => E.left(hplbError(code, [issue(path, expected, actual)], file));
  if (!(Number.isInteger(n) && n > 0)) return err('argument', '$.contextLength', 'a context length N: a positive integer', n);
  const target = options.recoveryTarget ?? DEFAULT_RECOVERY_TARGET;
  if (!(target >= 0 && target <= 1)) return err('argument', '$.recoveryTarget', 'a recovery target in [0, 1]', target);
  const scaling = options.curveScaling ?? 'fixed';
  const checked = checkProfile(profile, file);
  if (E.isLeft(checked)) return checked;
  switch (profile.kind) {
    case 'curve':
      return E.right(fromCurves(profile, n, () => target, scaling));
    case 'required': {
      if (profile.budgets.length > 0 || profile.topP === undefined) return E.right(profile.budgets.map((row) => row.map((b) => tokens(b, n))));
      const topP = profile.topP;
      const curves = options.curves;
      if (curves === undefined)
        return err(
          'argument',
          '$.topP',
          'recovery curves of this model (a curve profile, $.curves = FILE) to turn top-p targets into tokens: these budgets are attention-mass fractions (XAttention thresholds), not token counts',
        );
      const cc = checkProfile(curves, file);
      if (E.isLeft(cc)) return cc;
      const m = profile.model;
      if (curves.model.layers !== m.layers || curves.model.queryHeads !== m.queryHeads)
        return err('argument', '$.curves', `recovery curves for ${m.layers} layers × ${m.queryHeads} query heads (${m.name})`, words(`${curves.model.layers} × ${curves.model.queryHeads} (${curves.model.name})`));
      return E.right(fromCurves(curves, n, (l, h) => topP[l]![h]!, scaling));
    }
    case 'elastic':
      return E.right(profile.alpha.map((row, l) => row.map((a, h) => elasticSpan(a, profile.beta[l]![h]!, n, profile.spanRule))));
  }
};
