/**
 * Regenerate spec/golden/*.json from the CPU reference backend (@hplb/backend-cpu). Run after changing the case
 * list in spec/src/conformance/golden.ts or the reference kernel:
 *   node --import tsx spec/scripts/regenerate-golden.ts
 * Inputs are seeded (same bytes every run); outputs are the CPU backend's out, lse and blockMass.
 * The CPU backend is imported dynamically so spec/ needs no build reference to it (the CPU package's tests
 * reference spec/).
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '@hplb/core';
import { writeJsonAtomic } from '@hplb/core/node';
import type { AttentionBackend } from '@hplb/core/kernel';
import { caseInputs, caseLayout, caseParams, GOLDEN_CASES, GOLDEN_DIR, GOLDEN_FORMAT, toBase64 } from '../src/conformance/golden.ts';

const die = (msg: string): never => { process.stderr.write(`regenerate-golden: ${msg}\n`); process.exit(1); };
const cpuPackage = '@hplb/backend-cpu';
const { createBackend } = (await import(cpuPackage)) as { createBackend: (o?: Record<string, unknown>) => AttentionBackend };
const backend = createBackend();
const info = await backend.init();
if (E.isLeft(info)) die(formatError(info.left));
for (const c of GOLDEN_CASES) {
  const p = caseParams(c);
  if (E.isLeft(p)) die(`${c.name}: ${formatError(p.left)}`);
  const params = (p as E.Right<import('@hplb/core/kernel').AttentionParams>).right;
  const { q, k, v } = caseInputs(c);
  const layout = caseLayout(c, params, q, k);
  if (E.isLeft(layout)) die(`${c.name}: ${formatError(layout.left)}`);
  const L = (layout as E.Right<import('@hplb/core/kernel').BlockLayout>).right;
  const rows = c.rows === undefined ? undefined : { start: c.rows[0], end: c.rows[1] };
  const r = await backend.sparseAttention(q, k, v, L, params, rows);
  if (E.isLeft(r)) die(`${c.name}: ${formatError(r.left)}`);
  const m = await backend.blockMass(q, k, params);
  if (E.isLeft(m)) die(`${c.name}: ${formatError(m.left)}`);
  const out = (r as E.Right<import('@hplb/core/kernel').AttentionOutput>).right;
  const file = `${GOLDEN_DIR}${c.name}.json`;
  const w = writeJsonAtomic(file, {
    format: GOLDEN_FORMAT,
    name: c.name,
    spec: c,
    params: { tokens: params.tokens, headDim: params.headDim, blockSize: params.blockSize, causal: params.causal, scale: params.scale },
    layout: { offsets: [...L.offsets], indices: [...L.indices] },
    rows: rows ?? null,
    generatedBy: { backend: 'cpu', device: (info as E.Right<{ device: string }>).right.device },
    q: toBase64(q), k: toBase64(k), v: toBase64(v),
    out: toBase64(out.out), lse: toBase64(out.lse), mass: toBase64((m as E.Right<Float32Array>).right),
  });
  if (E.isLeft(w)) die(formatError(w.left));
  process.stdout.write(`${file}: N=${params.tokens} d=${params.headDim} B=${params.blockSize} blocks=${L.indices.length}\n`);
}
await backend.dispose();
