/**
 * The attention conformance suite: ONE function a backend's test file calls once.
 *
 *   // backends/<name>/test/conformance.test.ts
 *   import { attentionConformance } from '@hplb/spec';
 *   import { createBackend } from '../src/index.ts';
 *   attentionConformance({ name: 'cpu', create: () => createBackend(), precision: 'fp32', requireInit: true });
 *
 * It registers one node:test test with a subtest per case: the golden files of spec/golden/ (CPU reference
 * outputs) and the analytic checks of `conformance/cases.ts` (platform-neutral: browsers run them too, through
 * `runConformanceCases`) (full layout = dense attention, uniform V, key permutation inside a block,
 * causal masking, ±1e4 logits, d = 64 and 128, N not a multiple of B, row ranges, blockMass, batched heads, bad
 * inputs). Tolerances come from the declared precision (`TOLERANCES`); analytic references are computed on the
 * inputs rounded to that precision, as the backend sees them. Cases the backend's declared capabilities
 * exclude (a head dim over its maximum, a block size it lacks) are skipped with that reason, never filtered by name.
 * When `init()` fails the suite fails with the reason if `requireInit`, else it is skipped with the reason.
 */
import { test, type TestContext } from 'node:test';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, type HplbError } from '@hplb/core';
import type { AttentionBackend, AttentionOutput, AttentionParams, BlockLayout, Precision, RowRange } from '@hplb/core/kernel';
import { analyticCases, capabilityGap, expectClose, right } from './conformance/cases.ts';
import { goldenFiles, readGolden } from './conformance/golden.ts';
import { TOLERANCES } from './conformance/tolerance.ts';

export { TOLERANCES, compareArrays } from './conformance/tolerance.ts';
export { referenceAttention, referenceBlockMass } from './conformance/reference.ts';
export { GOLDEN_CASES, GOLDEN_DIR, goldenFiles, readGolden } from './conformance/golden.ts';
export { roundToPrecision } from './conformance/precision.ts';
export { analyticCases, capabilityGap, runConformanceCases, type CaseResult, type ConformanceCase, type RunCasesOptions } from './conformance/cases.ts';

export interface ConformanceOptions {
  /** Shown in test names, e.g. "cpu", "webgpu (fallback adapter)". */
  readonly name: string;
  readonly create: () => AttentionBackend | Promise<AttentionBackend>;
  /** The precision the backend is tested at; tolerances follow it. Default fp32. */
  readonly precision?: Precision;
  /** true: an init() failure fails the suite (CI machines that must have this backend). Default false: skip. */
  readonly requireInit?: boolean;
  /** Per-test timeout in ms (default 120 000). */
  readonly timeoutMs?: number;
}

// ---------------------------------------------------------------- the suite

export const attentionConformance = (opts: ConformanceOptions): void => {
  const precision = opts.precision ?? 'fp32';
  const tol = TOLERANCES[precision];
  test(`${opts.name}: attention conformance (${precision})`, { timeout: opts.timeoutMs ?? 120_000 }, async (t: TestContext) => {
    let backend: AttentionBackend;
    try {
      backend = await opts.create();
    } catch (e) {
      const reason = `${opts.name} backend could not be created: ${e instanceof Error ? e.message : String(e)}`;
      if (opts.requireInit) throw new Error(reason);
      t.skip(reason);
      return;
    }
    const info = await backend.init().catch((e: unknown) => E.left({ code: 'backend', issues: [{ path: '$', expected: 'init() to resolve', actual: String(e) }] } as HplbError));
    if (E.isLeft(info)) {
      const reason = `${opts.name} backend cannot start here: ${formatError(info.left)}`;
      if (opts.requireInit) throw new Error(reason);
      t.skip(reason);
      return;
    }
    t.diagnostic(`device: ${info.right.device}${info.right.mode ? ` (${info.right.mode})` : ''}`);
    const sub = async (name: string, p: AttentionParams | undefined, body: () => Promise<void>) => {
      const skip = p === undefined ? undefined : capabilityGap(backend.capabilities, p, opts.name);
      await t.test(name, skip !== undefined ? { skip } : {}, body);
    };
    const attend = async (q: Float32Array, k: Float32Array, v: Float32Array, layout: BlockLayout, p: AttentionParams, rows?: RowRange): Promise<AttentionOutput> =>
      right('sparseAttention', await backend.sparseAttention(q, k, v, layout, p, rows));

    try {
      // ------------------------------------------------ golden files
      const files = goldenFiles();
      await t.test('golden files are present', async () => {
        if (files.length === 0) throw new Error('no golden files in spec/golden/ (run: node --import tsx spec/scripts/regenerate-golden.ts)');
      });
      for (const file of files) {
        const g = right('reading the golden file', readGolden(file, precision));
        await sub(`golden ${g.name}`, g.params, async () => {
          const got = await attend(g.q, g.k, g.v, g.layout, g.params, g.rows);
          expectClose(`${g.name} out`, got.out, g.out, tol, g.params.headDim);
          expectClose(`${g.name} lse`, got.lse, g.lse, tol);
          const mass = right('blockMass', await backend.blockMass(g.q, g.k, g.params));
          expectClose(`${g.name} blockMass`, mass, g.mass, tol, g.params.blocks);
        });
      }

      // ------------------------------------------------ analytic checks (cases.ts: shared with the browser runner)
      for (const c of analyticCases(backend, precision)) await sub(c.name, c.params, c.run);
    } finally {
      await backend.dispose();
    }
  });
};
