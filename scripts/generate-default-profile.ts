/**
 * Regenerates core/data/default-profile.json: the SYNTHETIC default curve profile (Llama-3.1-8B shape, N = 131072)
 * from head archetypes, seeded (see core/src/defaultProfile.ts for the curve models and the calibration targets).
 * Deterministic: the same seed writes the same bytes. Run: npx tsx scripts/generate-default-profile.ts [--seed S]
 */
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_PROFILE_SEED, DEFAULT_PROFILE_URL, generateDefaultProfile, serializeProfile } from '../core/src/defaultProfile.ts';
import { formatError } from '../core/src/errors.ts';
import { writeFileAtomic } from '../core/src/node/atomic.ts';

const i = process.argv.indexOf('--seed');
const seed = i >= 0 ? Number(process.argv[i + 1]) : DEFAULT_PROFILE_SEED;
if (!Number.isInteger(seed)) {
  process.stderr.write(`generate-default-profile: --seed expects an integer, got ${process.argv[i + 1]}\n`);
  process.exit(2);
}
const t0 = Date.now();
const profile = generateDefaultProfile(seed);
const text = serializeProfile(profile);
const out = writeFileAtomic(fileURLToPath(DEFAULT_PROFILE_URL), text);
if (E.isLeft(out)) {
  process.stderr.write(formatError(out.left) + '\n');
  process.exit(1);
}
const cal = (profile.source as { calibration: { withinLayerRatioMedian: number; withinLayerRatioMax: number; layerSpread: number } }).calibration;
process.stdout.write(
  `wrote ${out.right} (SYNTHETIC, seed ${seed}, ${text.length} bytes, ${Date.now() - t0} ms): at 95% recovery within-layer max/min median ${cal.withinLayerRatioMedian}x (max ${cal.withinLayerRatioMax}x), layer spread ${cal.layerSpread}x\n`,
);

