/**
 * Regenerates core/src/data/default-profile.json: the SYNTHETIC default curve profile (Llama-3.1-8B shape, N = 131072).
 * Each of the 32 × 32 heads is seeded synthetic Q/K of an archetype (core/src/kernel/synthetic.ts) run through the
 * real profiler (`profileHead`, core/src/kernel/profiler.ts) at N = 2048 over the last 64 query rows, then carried
 * to N = 131072 keeping the density b/N (see core/src/defaultProfile.ts). Deterministic: the same seed writes the
 * same bytes. Prints the calibration statistics and refuses to write a profile that misses the published targets
 * (within-layer max/min at 95% recovery about 5–50x, layer-to-layer spread of the mean about 3–4x).
 * About 2–3 minutes on two shared cores. Run: npx tsx scripts/generate-default-profile.ts [--seed S]
 */
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import {
  DEFAULT_PROFILE_SEED, generateDefaultProfile, serializeProfile, type Archetype, type CalibrationStats,
} from '../core/src/defaultProfile.ts';
import { DEFAULT_PROFILE_URL } from '../core/src/node/defaultProfile.ts';
import { formatError } from '../core/src/errors.ts';
import { writeFileAtomic } from '../core/src/node/atomic.ts';
import { makeRecoveryCurve, tokensFor } from '../core/src/recovery.ts';

const i = process.argv.indexOf('--seed');
const seed = i >= 0 ? Number(process.argv[i + 1]) : DEFAULT_PROFILE_SEED;
if (!Number.isInteger(seed)) {
  process.stderr.write(`generate-default-profile: --seed expects an integer, got ${process.argv[i + 1]}\n`);
  process.exit(2);
}
const t0 = Date.now();
const tty = process.stderr.isTTY;
const got = generateDefaultProfile(seed, (done, total) => {
  if (done % 32 === 0) process.stderr.write(`${tty ? '\r' : ''}profiled ${done}/${total} heads (${((Date.now() - t0) / 1000).toFixed(0)} s)${tty ? '' : '\n'}`);
});
if (tty) process.stderr.write('\n');
if (E.isLeft(got)) {
  process.stderr.write(formatError(got.left) + '\n');
  process.exit(1);
}
const profile = got.right;
const src = profile.source as { archetypes: string[]; calibration: CalibrationStats };
const cal = src.calibration;

// Per-archetype and per-layer 95% budgets, as shares of N.
const n = profile.contextLength;
const byArch: Record<string, number[]> = {};
const layerMean: number[] = [];
profile.curves.forEach((row, l) => {
  const kinds = src.archetypes[l]!.split(',') as Archetype[];
  let sum = 0;
  row.forEach((c, h) => {
    const r = makeRecoveryCurve(c.tokens, c.mass, n);
    const b = E.isRight(r) ? tokensFor(r.right, 0.95) / n : NaN;
    (byArch[kinds[h]!] ??= []).push(b);
    sum += b;
  });
  layerMean.push(sum / row.length);
});
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
for (const [a, xs] of Object.entries(byArch)) {
  const s = [...xs].sort((x, y) => x - y);
  process.stdout.write(`${a.padEnd(10)} ${String(s.length).padStart(4)} heads: 95% budget ${pct(s[0]!)} .. median ${pct(s[s.length >> 1]!)} .. ${pct(s[s.length - 1]!)} of N\n`);
}
process.stdout.write(`layer-mean 95% budget (share of N): ${layerMean.map((x) => (100 * x).toFixed(0)).join(' ')}\n`);
process.stdout.write(`within-layer max/min: ${cal.withinLayerRatio.join(' ')}\n`);
const ok = cal.withinLayerRatioMedian >= 5 && cal.withinLayerRatioMedian <= 50 && cal.withinLayerRatio.every((r) => r >= 3 && r <= 60) && cal.layerSpread >= 3 && cal.layerSpread <= 4.5;
const summary = `at 95% recovery within-layer max/min median ${cal.withinLayerRatioMedian}x (max ${cal.withinLayerRatioMax}x), layer spread ${cal.layerSpread}x`;
if (!ok) {
  process.stderr.write(`generate-default-profile: seed ${seed} misses the calibration targets (within-layer median 5-50x, every layer 3-60x, spread 3-4.5x): ${summary}; not written\n`);
  process.exit(1);
}
const text = serializeProfile(profile);
const out = writeFileAtomic(fileURLToPath(DEFAULT_PROFILE_URL), text);
if (E.isLeft(out)) {
  process.stderr.write(formatError(out.left) + '\n');
  process.exit(1);
}
process.stdout.write(`wrote ${out.right} (SYNTHETIC, seed ${seed}, ${text.length} bytes, ${((Date.now() - t0) / 1000).toFixed(1)} s): ${summary}\n`);
