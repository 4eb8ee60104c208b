/**
 * Fuzz suite over every reader (issue 21): seeded mutations of real inputs, through the facade as a caller would use
 * it. Every case must give an Either (a Left with a one-line message, or a Right), never a throw, in bounded time.
 *
 *   - profiles of each format (MInference JSON, DuoAttention TSV, MoA JSON, XAttention JSON, hplb profile JSON):
 *     `loadProfile({ text, fileName })`;
 *   - config.json: `loadProfile` with `modelConfig` text;
 *   - plan.json: `decodePlan` + `validatePlan` (and `servingCost`);
 *   - calibration files: `decode(CalibrationC)`;
 *   - engine layouts: `decodeEngineLayout`;
 *   - safetensors headers: `openSafetensors` on mutated files.
 *
 * Mutations: byte flips, truncations, splices of hostile text, and structural edits of the parsed tree (a value
 * replaced by another JSON type, huge or negative or fractional numbers, NaN-like strings, deep nesting, a key
 * removed or duplicated, arrays grown or emptied, a UTF-8 BOM, control characters). The seed is fixed
 * (`HPLB_FUZZ_SEED` replays another, `HPLB_FUZZ_RUNS` scales the count); CI runs 10k+ cases. A larger run is
 * `HPLB_FUZZ_RUNS=200000 node --import tsx --test hplb/test/fuzz-readers.test.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { CalibrationC, decode, decodeEngineLayout, formatError, type HplbError } from '@hplb/core';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';
import { openSafetensors, closeSafetensors, writeSafetensors } from '@hplb/engines/node';
import { decodePlan, defaultProfile, exportEngineLayout, loadProfile, planProfile, servingCost, validatePlan } from 'hplb';

const SEED = Number(process.env['HPLB_FUZZ_SEED'] ?? 20261208);
const SCALE = Number(process.env['HPLB_FUZZ_RUNS'] ?? 0) > 0 ? Number(process.env['HPLB_FUZZ_RUNS']) / 10_000 : 1;
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** A case slower than this is a failure (a hang class): far above any reader's real cost on these inputs. */
const CASE_LIMIT_MS = 2_000;

const repo = join(import.meta.dirname, '..', '..');
const D = sharedDataDir();

// ---------------------------------------------------------------- mutations

const HOSTILE = ['\u0000', '\u001b[31m', '\ufeff', '\n', '"', '\\', '}', ']', '{"a":', 'NaN', 'Infinity', '-1e308', '1e309', '0.5', '-0', '__proto__', 'constructor', '\u2028', '😀'];
const VALUES: unknown[] = [null, true, false, 0, -1, 0.5, -0.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296, '', 'x', 'NaN', '1e400', [], {}, [[]], { a: 1 }, [1, 2, 3]];

/** A placeholder the serialiser below replaces by `d` nested arrays (JSON.stringify itself overflows on deep trees). */
const DEEP = '\u0000deep:';
const deep = (d: number): unknown => `${DEEP}${d}`;
const serialise = (tree: unknown): string =>
  JSON.stringify(tree).replace(/"\\u0000deep:(\d+)"/g, (_m, d: string) => '['.repeat(Number(d)) + '1' + ']'.repeat(Number(d)));

/** Paths (key lists) of every value in a JSON tree, depth-first, at most `cap` of them. */
const paths = (u: unknown, cap = 4000): Array<Array<string | number>> => {
  const out: Array<Array<string | number>> = [];
  const walk = (v: unknown, at: Array<string | number>) => {
    if (out.length >= cap) return;
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...at, i]));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], [...at, k]);
  };
  walk(u, []);
  return out;
};

const setAt = (root: unknown, at: ReadonlyArray<string | number>, f: (v: unknown) => unknown | typeof REMOVE): unknown => {
  if (at.length === 0) {
    const r = f(root);
    return r === REMOVE ? null : r;
  }
  const copy: unknown = Array.isArray(root) ? [...root] : { ...(root as Record<string, unknown>) };
  const [k, ...rest] = at;
  const child = (copy as Record<string | number, unknown>)[k!];
  if (rest.length === 0) {
    const r = f(child);
    if (r === REMOVE) {
      if (Array.isArray(copy)) copy.splice(k as number, 1);
      else delete (copy as Record<string, unknown>)[k as string];
    } else (copy as Record<string | number, unknown>)[k!] = r;
  } else (copy as Record<string | number, unknown>)[k!] = setAt(child, rest, f);
  return copy;
};
const REMOVE = Symbol('remove');

/** One structural edit of a parsed JSON tree, chosen by the integers given. */
const editTree = (tree: unknown, pick: number, kind: number, val: number): unknown => {
  const ps = paths(tree);
  const at = ps[pick % ps.length]!;
  switch (kind % 8) {
    case 0: return setAt(tree, at, () => VALUES[val % VALUES.length]);
    case 1: return setAt(tree, at, () => REMOVE);
    case 2: return setAt(tree, at, (v) => (typeof v === 'number' ? [v * 1e300, -v, v + 0.5, NaN, v * 2 ** 40][val % 5] : v));
    case 3: return setAt(tree, at, () => deep([100, 5000, 100_000][val % 3]!));
    case 4: return setAt(tree, at, (v) => (Array.isArray(v) ? [...v, ...v] : typeof v === 'string' ? v + HOSTILE[val % HOSTILE.length] : v));
    case 5: return setAt(tree, at, (v) => (Array.isArray(v) ? [] : v));
    case 6: return setAt(tree, at, (v) => (typeof v === 'string' ? HOSTILE[val % HOSTILE.length]!.repeat(1 + (val % 7)) : v));
    default: return setAt(tree, at, (v) => (v && typeof v === 'object' && !Array.isArray(v) ? { ...v, [`extra${val}`]: VALUES[val % VALUES.length] } : v));
  }
};

/** One textual edit: flip a byte, truncate, splice hostile text, prefix a BOM. */
const editText = (text: string, pos: number, kind: number, val: number): string => {
  const i = text.length === 0 ? 0 : pos % text.length;
  switch (kind % 5) {
    case 0: return text.slice(0, i) + String.fromCharCode((text.charCodeAt(i) ^ (1 << (val % 7))) || 1) + text.slice(i + 1);
    case 1: return text.slice(0, i);
    case 2: return text.slice(0, i) + HOSTILE[val % HOSTILE.length] + text.slice(i);
    case 3: return '\ufeff' + text;
    default: return text.slice(0, i) + text.slice(i + 1 + (val % 50));
  }
};

/** A mutated text: textual edits, or a structural edit of its JSON re-serialised (for JSON inputs). */
const mutantArb = (text: string, json: boolean) =>
  fc.tuple(fc.boolean(), fc.nat(), fc.nat(), fc.nat(), fc.nat({ max: 3 })).map(([structural, a, b, c, extra]) => {
    if (json && structural) {
      let tree: unknown = JSON.parse(text);
      for (let k = 0; k <= extra; k++) tree = editTree(tree, a + k * 7919, b + k, c + k);
      return serialise(tree);
    }
    let t = text;
    for (let k = 0; k <= extra; k++) t = editText(t, a + k * 104729, b + k, c + k);
    return t;
  });

/** The reader's result must be an Either; a Left must format to one line. Returns the Left's code when there is one. */
const isEither = (r: unknown): r is E.Either<HplbError, unknown> =>
  typeof r === 'object' && r !== null && ((r as { _tag?: unknown })._tag === 'Left' || (r as { _tag?: unknown })._tag === 'Right');

const checkTotal = (what: string, f: () => unknown): void => {
  const t0 = performance.now();
  let r: unknown;
  try {
    r = f();
  } catch (e) {
    assert.fail(`${what}: threw ${e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e)}`);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < CASE_LIMIT_MS, `${what}: took ${ms.toFixed(0)} ms`);
  assert.ok(isEither(r), `${what}: returned something other than an Either`);
  if (r._tag === 'Left') {
    const line = formatError(r.left);
    assert.ok(!line.includes('\n'), `${what}: a Left of more than one line: ${JSON.stringify(line.slice(0, 300))}`);
  }
};

const property = (name: string, text: string, json: boolean, n: number, read: (t: string) => unknown) =>
  fc.assert(fc.property(mutantArb(text, json), (t) => checkTotal(`${name} on ${JSON.stringify(t.slice(0, 80))}…`, () => read(t))), { seed: SEED, numRuns: runs(n), endOnFailure: true });

// ---------------------------------------------------------------- inputs

const built = (rel: string) => readFileSync(join(repo, rel), 'utf8');
const MINF = built('core/src/data/published/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json');
const HPLB_PROFILE = built('core/src/data/default-profile.json');

test('fuzz: MInference and hplb profiles (mutated built-in files) give an Either, one-line Lefts, no throw', () => {
  property('minference profile', MINF, true, 1500, (t) => loadProfile({ text: t, fileName: 'Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json' }, { format: 'minference' }));
  property('minference profile, format detected', MINF, true, 800, (t) => loadProfile({ text: t, fileName: 'pattern.json' }));
  property('hplb profile', HPLB_PROFILE, true, 1200, (t) => loadProfile({ text: t, fileName: 'profile.json' }, { format: 'hplb' }));
});

test('fuzz: DuoAttention, MoA and XAttention files of ../shared/data, and config.json', { skip: D === undefined ? SHARED_DATA_MISSING : false }, () => {
  const duoDir = join(D!, 'duo', 'Llama-2-7B-32K-Instruct');
  const duo = readFileSync(join(duoDir, 'full_attention_heads.tsv'), 'utf8');
  const config = readFileSync(join(duoDir, 'config.json'), 'utf8');
  const moaDir = readdirSync(join(D!, 'moa')).map((d) => join(D!, 'moa', d)).find((d) => existsSync(join(d, 'moa_alpha_beta.json')))!;
  const moa = readFileSync(join(moaDir, 'moa_alpha_beta.json'), 'utf8');
  const xatt = readFileSync(join(D!, 'xattention', 'llama3.1_8b_per_head_thresholds.json'), 'utf8');
  property('duo profile', duo, false, 1200, (t) => loadProfile({ text: t, fileName: 'full_attention_heads.tsv' }, { format: 'duo', sparsity: 0.5, model: 'Llama-2-7B-32K-Instruct' }));
  property('moa profile', moa, true, 1000, (t) => loadProfile({ text: t, fileName: 'moa_alpha_beta.json' }, { format: 'moa', model: 'Llama-3-8B-Instruct-262k' }));
  property('xattention profile', xatt, true, 800, (t) => loadProfile({ text: t, fileName: 'llama3.1_8b_per_head_thresholds.json' }, { format: 'xattention' }));
  property('config.json', config, true, 1500, (t) => loadProfile({ text: duo, fileName: 'full_attention_heads.tsv' }, { format: 'duo', sparsity: 0.5, modelConfig: { text: t, fileName: 'config.json' } }));
});

test('fuzz: plan.json (decode, validate, price), calibration files and engine layouts', async () => {
  const planned = await planProfile(defaultProfile(), { gpus: 4, effort: 500 });
  assert.ok(E.isRight(planned), E.isLeft(planned) ? formatError(planned.left) : '');
  // A smaller plan (4 layers) keeps each case's validation cheap; the shape rules are the same.
  const full = planned.right.plan;
  const plan = { ...full, model: { ...full.model, name: 'fuzz-model', layers: 4 }, budgets: full.budgets.slice(0, 4), placement: full.placement.slice(0, 4),
    splits: (full.splits ?? []).filter((s) => s.layer < 4), predicted: { ...full.predicted, deviceLoad: full.predicted.deviceLoad.slice(0, 4), layerMakespan: full.predicted.layerMakespan.slice(0, 4), layerLowerBound: full.predicted.layerLowerBound.slice(0, 4) },
    solver: { ...full.solver, ...(full.solver.layers ? { layers: full.solver.layers.slice(0, 4) } : {}) } };
  const planText = JSON.stringify(plan);
  property('plan.json', planText, true, 2000, (t) => {
    let u: unknown;
    try { u = JSON.parse(t); } catch { return E.right(null); }
    const d = decodePlan(u);
    const v = validatePlan(u as never);
    if (!isEither(v)) return v;
    const s = servingCost(u);
    return isEither(d) && isEither(s) ? v : d;
  });
  const calibration = {
    format: 'hplb.calibration/1', backend: 'cpu', device: 'x', precision: 'fp32', blockSize: 64, headDim: 64,
    costModel: { name: 'calibrated', unit: 'seconds', workModel: 'pairs', fixed: 1e-5, perTokenPair: 1e-10, perQueryRow: 1e-8 },
    fit: { fixedSeconds: 1e-5, secondsPerBlock: 1e-7, r2: 0.99 },
    samples: [{ contextLength: 1024, budget: 64, blocks: 16, tokenPairs: 60000, seconds: 0.001 }],
    hardware: { hbmBytesPerSecond: 3e12 },
  };
  property('calibration', JSON.stringify(calibration), true, 1500, (t) => {
    let u: unknown;
    try { u = JSON.parse(t); } catch { return E.right(null); }
    return decode(CalibrationC, u, 'calibration.json');
  });
  const engine = exportEngineLayout(full, { engine: 'vllm' } as never);
  if (E.isRight(engine)) {
    const layoutText = JSON.stringify((engine.right as { layout: unknown }).layout ?? engine.right);
    property('engine layout', layoutText, true, 800, (t) => {
      let u: unknown;
      try { u = JSON.parse(t); } catch { return E.right(null); }
      return decodeEngineLayout(u, 'layout.json');
    });
  }
});

test('fuzz: safetensors headers (mutated files) open to an Either and never throw', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-fuzz-st-'));
  try {
    const base = join(dir, 'base.safetensors');
    const data = (n: number) => new Uint8Array(n).map((_, i) => i % 251);
    writeSafetensors(base, [
      { name: 'model.layers.0.self_attn.q_proj.weight', dtype: 'BF16', shape: [8, 4], data: data(64) },
      { name: 'model.layers.0.self_attn.k_proj.weight', dtype: 'F32', shape: [2, 4], data: data(32) },
    ], { format: 'pt' });
    const bytes = readFileSync(base);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLen).toString('utf8');
    const body = bytes.subarray(8 + headerLen);
    let k = 0;
    fc.assert(fc.property(mutantArb(header, true), fc.nat({ max: 2 }), (h, lenMode) => {
      const hb = Buffer.from(h, 'utf8');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt([hb.length, hb.length + 7, Math.max(0, hb.length - 3)][lenMode]!));
      const f = join(dir, `m${k++ % 4}.safetensors`);
      writeFileSync(f, Buffer.concat([len, hb, body]));
      checkTotal(`safetensors header ${JSON.stringify(h.slice(0, 80))}`, () => {
        const r = openSafetensors(f);
        if (E.isRight(r)) closeSafetensors(r.right);
        return r;
      });
    }), { seed: SEED, numRuns: runs(800), endOnFailure: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
