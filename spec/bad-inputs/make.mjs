// Regenerates the bad-input corpus: one folder per case with the input file and case.json
// {args, expectPath, expectText}. `$CASE` in args is the case folder. Run: node spec/bad-inputs/make.mjs
import { mkdirSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
for (const d of readdirSync(here)) if (statSync(join(here, d)).isDirectory()) rmSync(join(here, d), { recursive: true });

// Llama-3.2-1B-Instruct: 16 layers, 32 query heads, 8 KV heads (the smallest registered model).
const L = 16, H = 32, KV = 8;
const M1B = ['--model', 'Llama-3.2-1B-Instruct'];
const tiny = { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 8 };
const mlayer = (f = () => ['vertical_and_slash', 1000, 6096, 0.9]) => Object.fromEntries(Array.from({ length: H }, (_, h) => [String(h), f(h)]));
const mfile = (edit = (x) => x) => JSON.stringify(edit(Array.from({ length: L }, () => mlayer())));
const table = (rows, cols, v = 0.5) => Array.from({ length: rows }, () => Array(cols).fill(v));
const tsv = (rows) => rows.map((r) => r.join('\t')).join('\n') + '\n';
const prof = (extra) => JSON.stringify({ format: 'hplb.profile/1', model: tiny, ...extra });
const curve = { tokens: [10, 100], mass: [0.5, 0.9] };
const curves = (c) => ({ kind: 'curve', contextLength: 1000, curves: [[curve, curve, curve, curve], [curve, curve, curve, c]] });

const cases = [];
const add = (name, file, content, args, expectPath, expectText) => cases.push({ name, file, content, args, expectPath, expectText });

// Syntax
add('malformed-json', 'input.json', '[{"0": ["vertical_and_slash", 1000, 6096, 0.9]', ['--format', 'minference', ...M1B], '$', 'expected valid JSON');
add('empty-file', 'input.json', '', ['--format', 'hplb'], '$', 'expected a JSON document, got an empty file');
add('whitespace-only-file', 'input.json', '  \n\n ', ['--format', 'minference', ...M1B], '$', 'expected a JSON document, got an empty file');
add('nan-literal-budget', 'input.json', prof({ kind: 'required', contextLength: 1000 }).replace(/}$/, ', "budgets": [[NaN, 1, 1, 1], [1, 1, 1, 1]]}'), ['--format', 'hplb'], '$', 'expected valid JSON');
// Formats and models
add('unknown-format', 'input.json', mfile(), ['--format', 'csv', ...M1B], '--format', 'expected one of minference|duo|moa|xattention|hplb, got "csv"');
add('undetectable-format', 'input.json', '{"hello": 1}', [], '--format', 'none given');
add('hplb-unknown-format-version', 'input.json', JSON.stringify({ format: 'hplb.profile/9', kind: 'curve' }), ['--format', 'hplb'], '$.format', 'expected "hplb.profile/1", got "hplb.profile/9"');
add('hplb-missing-format', 'input.json', JSON.stringify({ kind: 'curve', model: tiny }), ['--format', 'hplb'], '$.format', 'expected "hplb.profile/1"');
add('hplb-unknown-kind', 'input.json', prof({ kind: 'histogram' }), ['--format', 'hplb'], '$.kind', 'expected "curve", "required" or "elastic", got "histogram"');
add('unknown-model-name', 'input.json', mfile(), ['--format', 'minference', '--model', 'Llama-9-Foo'], '--model', 'expected a registered model');
add('no-model-in-file-name', 'input.json', mfile(), ['--format', 'minference'], '--model', 'expected a model name (--model NAME)');
add('hplb-wrong-layers-for-model', 'input.json', JSON.stringify({ format: 'hplb.profile/1', kind: 'elastic', model: { name: 'Llama-3.1-8B-Instruct', layers: 31, queryHeads: 32, kvHeads: 8, headDim: 128 }, alpha: [], beta: [] }), ['--format', 'hplb'], '$.model.layers', 'expected 32 (layers of Llama-3.1-8B-Instruct in the model registry), got 31');
add('hplb-kvheads-not-divisor', 'input.json', JSON.stringify({ format: 'hplb.profile/1', kind: 'elastic', model: { ...tiny, kvHeads: 3 }, alpha: [], beta: [] }), ['--format', 'hplb'], '$.model.kvHeads', 'expected a divisor of queryHeads (4), got 3');
// MInference
add('minference-wrong-layer-count', 'input.json', mfile((x) => x.slice(0, 15)), ['--format', 'minference', ...M1B], '$', 'expected 16 layers (one object per layer) for Llama-3.2-1B-Instruct, got 15 layers');
add('minference-wrong-head-count', 'input.json', mfile((x) => { delete x[5]['31']; return x; }), ['--format', 'minference', ...M1B], '$[5]', 'expected 32 query heads ("0".."31") for Llama-3.2-1B-Instruct, got 31 heads');
add('minference-head-key-out-of-range', 'input.json', mfile((x) => { x[2]['32'] = x[2]['0']; return x; }), ['--format', 'minference', ...M1B], '$[2]["32"]', 'expected a query head key "0".."31"');
add('minference-negative-size', 'input.json', mfile((x) => { x[3]['7'] = ['vertical_and_slash', -5, 6096, 0.9]; return x; }), ['--format', 'minference', ...M1B], '$[3]["7"][1]', 'expected a finite number ≥ 0, got -5');
add('minference-string-size', 'input.json', mfile((x) => { x[0]['0'] = ['vertical_and_slash', '1000', 6096, 0.9]; return x; }), ['--format', 'minference', ...M1B], '$[0]["0"][1]', 'expected a finite number ≥ 0, got "1000"');
add('minference-short-entry', 'input.json', mfile((x) => { x[1]['4'] = ['vertical_and_slash', 1000, 6096]; return x; }), ['--format', 'minference', ...M1B], '$[1]["4"]', 'expected a 4-item [pattern, vertical_size, slash_size, score] entry');
add('minference-unknown-pattern', 'input.json', mfile((x) => { x[9]['9'] = ['block_sparse', 1000, 6096, 0.9]; return x; }), ['--format', 'minference', ...M1B], '$[9]["9"][0]', 'expected "vertical_and_slash" or "stream_llm", got "block_sparse"');
add('minference-recall-over-one', 'input.json', mfile((x) => { x[4]['1'] = ['vertical_and_slash', 1000, 6096, 3.5]; return x; }), ['--format', 'minference', ...M1B], '$[4]["1"][3]', 'expected a recall score in [0, 1] for Llama-3.2-1B-Instruct, got 3.5');
add('minference-root-object', 'input.json', JSON.stringify(mlayer()), ['--format', 'minference', ...M1B], '$', 'expected a JSON list with one {"q_head": [pattern, vertical_size, slash_size, score]} object per layer');
// hplb.profile/1
add('hplb-wrong-head-count', 'input.json', prof({ kind: 'required', contextLength: 1000, budgets: [[1, 2, 3, 4], [1, 2, 3]] }), ['--format', 'hplb'], '$.budgets[1]', 'expected 4 query heads (one budget each) for tiny, got 3 entries');
add('hplb-negative-budget', 'input.json', prof({ kind: 'required', contextLength: 1000, budgets: [[1, -2, 3, 4], [1, 2, 3, 4]] }), ['--format', 'hplb'], '$.budgets[0][1]', 'expected a finite number ≥ 0, got -2');
add('hplb-nan-string-budget', 'input.json', prof({ kind: 'required', contextLength: 1000, budgets: [['NaN', 2, 3, 4], [1, 2, 3, 4]] }), ['--format', 'hplb'], '$.budgets[0][0]', 'expected a finite number ≥ 0, got "NaN"');
add('hplb-missing-budgets', 'input.json', prof({ kind: 'required', contextLength: 1000 }), ['--format', 'hplb'], '$.budgets', 'got nothing');
add('hplb-zero-context', 'input.json', prof({ kind: 'required', contextLength: 0, budgets: [[1, 2, 3, 4], [1, 2, 3, 4]] }), ['--format', 'hplb'], '$.contextLength', 'expected a positive integer, got 0');
add('hplb-curve-over-n', 'input.json', prof(curves({ tokens: [10, 5000], mass: [0.5, 0.9] })), ['--format', 'hplb'], '$.curves[1][3].tokens[1]', 'expected at most the context length 1000, got 5000');
add('hplb-curve-tokens-not-ascending', 'input.json', prof(curves({ tokens: [100, 10], mass: [0.5, 0.9] })), ['--format', 'hplb'], '$.curves[1][3].tokens[1]', 'tokens strictly ascending');
add('hplb-curve-mass-decreasing', 'input.json', prof(curves({ tokens: [10, 100], mass: [0.9, 0.5] })), ['--format', 'hplb'], '$.curves[1][3].mass[1]', 'mass non-decreasing');
add('hplb-curve-length-mismatch', 'input.json', prof(curves({ tokens: [10, 100, 200], mass: [0.5, 0.9] })), ['--format', 'hplb'], '$.curves[1][3].mass', 'expected 3 points (as many as tokens), got 2 points');
add('hplb-curve-mass-over-one', 'input.json', prof(curves({ tokens: [10, 100], mass: [0.5, 1.5] })), ['--format', 'hplb'], '$.curves[1][3].mass[1]', 'expected a number in [0, 1], got 1.5');
add('hplb-elastic-negative-beta', 'input.json', prof({ kind: 'elastic', alpha: table(2, 4, 0), beta: [[1, 1, 1, 1], [1, 1, -0.5, 1]] }), ['--format', 'hplb'], '$.beta[1][2]', 'expected a finite number ≥ 0 (span grows with N), got -0.5');
add('hplb-root-array', 'input.json', '[1, 2, 3]', ['--format', 'hplb'], '$', 'expected an hplb.profile/1 object');
// DuoAttention
add('duo-empty-tsv', 'full_attention_heads.tsv', '', ['--format', 'duo', '--sparsity', '0.5', ...M1B], '$', 'expected a tab-separated matrix of gates');
add('duo-ragged-rows', 'full_attention_heads.tsv', tsv(table(L, KV)).replace(/\t0.5\n$/, '\n'), ['--format', 'duo', '--sparsity', '0.5', ...M1B], `$[${L - 1}]`, `expected ${KV} tab-separated columns like line 1 (line ${L}), got ${KV - 1} columns`);
add('duo-non-number', 'full_attention_heads.tsv', tsv(table(L, KV)).replace('0.5', 'abc'), ['--format', 'duo', '--sparsity', '0.5', ...M1B], '$[0][0]', 'expected a finite number (line 1, column 1), got "abc"');
add('duo-wrong-columns', 'full_attention_heads.tsv', tsv(table(L, KV + 1)), ['--format', 'duo', '--sparsity', '0.5', ...M1B], '$[0]', `expected ${KV} columns (KV heads) for Llama-3.2-1B-Instruct, got ${KV + 1} columns`);
add('duo-wrong-rows', 'full_attention_heads.tsv', tsv(table(L - 2, KV)), ['--format', 'duo', '--threshold', '0.5', ...M1B], '$', `expected ${L} rows (layers) for Llama-3.2-1B-Instruct, got ${L - 2} rows`);
add('duo-missing-sparsity', 'full_attention_heads.tsv', tsv(table(L, KV)), ['--format', 'duo', ...M1B], '--sparsity', 'expected a sparsity s in [0, 1] or a threshold');
add('duo-sparsity-and-threshold', 'full_attention_heads.tsv', tsv(table(L, KV)), ['--format', 'duo', '--sparsity', '0.5', '--threshold', '0.5', ...M1B], '--threshold', 'expected either --sparsity or --threshold, not both');
// MoA
add('moa-shape-mismatch', 'input.json', JSON.stringify({ alphas: table(L, H, 0), betas: [...table(L - 1, H, 0.5), Array(H - 1).fill(0.5)] }), ['--format', 'moa', ...M1B], `$.betas[${L - 1}]`, `expected ${H} query heads (the shape of alphas) for Llama-3.2-1B-Instruct, got ${H - 1} entries`);
add('moa-missing-betas', 'input.json', JSON.stringify({ alphas: table(L, H, 0) }), ['--format', 'moa', ...M1B], '$.betas', 'expected a [layer][head] table of betas, got nothing');
add('moa-wrong-layer-count', 'input.json', JSON.stringify({ alphas: table(L + 1, H, 0), betas: table(L + 1, H, 0.5) }), ['--format', 'moa', ...M1B], '$.alphas', `expected ${L} layers for Llama-3.2-1B-Instruct, got ${L + 1} layers`);
add('moa-string-alpha', 'input.json', JSON.stringify({ alphas: [[0, 'x'], ...table(L - 1, H, 0)], betas: table(L, H, 0.5) }), ['--format', 'moa', ...M1B], '$.alphas[0][1]', 'expected a finite number, got "x"');
add('moa-negative-beta', 'input.json', JSON.stringify({ alphas: table(L, H, 0), betas: [[0.5, -1], ...table(L - 1, H, 0.5)] }), ['--format', 'moa', ...M1B], '$.betas[0][1]', 'expected a finite number ≥ 0, got -1');
// XAttention
add('xattention-missing-table', 'input.json', JSON.stringify({ _meta: {}, llama_fuse_4: { values: table(L, H) } }), ['--format', 'xattention', ...M1B], '$.max', 'expected a threshold table "max" (tables in the file: llama_fuse_4)');
add('xattention-threshold-over-one', 'input.json', JSON.stringify({ max: { values: [[1.2, ...Array(H - 1).fill(0.9)], ...table(L - 1, H)] } }), ['--format', 'xattention', ...M1B], '$.max.values[0][0]', 'expected a number in [0, 1], got 1.2');
add('xattention-wrong-head-count', 'input.json', JSON.stringify({ max: { values: [...table(L - 1, H), Array(H + 1).fill(0.5)] } }), ['--format', 'xattention', ...M1B], `$.max.values[${L - 1}]`, `expected ${H} query heads for Llama-3.2-1B-Instruct, got ${H + 1} entries`);
add('xattention-root-array', 'input.json', JSON.stringify(table(L, H)), ['--format', 'xattention', ...M1B], '$', 'expected an object of named threshold tables');
// Files
add('missing-file', 'README.txt', 'This case names a file that does not exist: $CASE/absent.json.\n', ['--format', 'hplb'], '$', 'expected a readable file, got no such file');

for (const c of cases) {
  const dir = join(here, c.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, c.file), c.content);
  const target = c.name === 'missing-file' ? '$CASE/absent.json' : `$CASE/${c.file}`;
  writeFileSync(join(dir, 'case.json'), JSON.stringify({ args: ['inspect', target, ...c.args], expectPath: c.expectPath, expectText: c.expectText }, null, 2) + '\n');
}
console.log(`${cases.length} cases`);
