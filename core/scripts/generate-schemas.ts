/**
 * `npm run schemas`: write the JSON Schemas of hplb's formats (generated from the io-ts codecs, core/src/schemas.ts)
 * into core/schemas/*.schema.json, atomically. `--check` writes nothing and exits 1 when a committed file differs
 * from a fresh generation (what core/test/json-schema.test.ts asserts too).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { formatError, generateSchemas } from '../src/index.ts';
import { writeFileAtomic } from '../src/node/index.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
const check = process.argv.includes('--check');
const generated = generateSchemas();
if (E.isLeft(generated)) {
  process.stderr.write(formatError(generated.left) + '\n');
  process.exit(2);
}
let stale = 0;
for (const { file, text } of generated.right) {
  const path = join(dir, file);
  let old: string | undefined;
  try { old = readFileSync(path, 'utf8'); } catch { old = undefined; }
  if (old === text) continue;
  stale++;
  if (check) { process.stderr.write(`${path}: differs from a fresh generation (run npm run schemas)\n`); continue; }
  const w = writeFileAtomic(path, text);
  if (E.isLeft(w)) { process.stderr.write(formatError(w.left) + '\n'); process.exit(2); }
  process.stdout.write(`wrote ${path}\n`);
}
if (check && stale > 0) process.exit(1);
if (!check && stale === 0) process.stdout.write(`${generated.right.length} schemas up to date in ${dir}\n`);
