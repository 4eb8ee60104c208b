/**
 * Benchmark: the whole serving step (core serving.ts) of the written plan against the engines' contiguous split, on
 * every shared profile (`../shared/data`): all MInference patterns, DuoAttention gates at sparsity 0.5, MoA spans,
 * XAttention thresholds where they state budgets at the context. Head parallelism 2, 4 and 8 (a GPU count the model's
 * heads do not allow in today's engines is skipped, with the reason), both workloads (colocated: 256 output tokens,
 * batch 1; prefill: disaggregated prefill), N = 131072 (else the profile's own context), hardware preset h100-sxm.
 * Every figure is modelled (the serving cost model on the preset), none measured.
 *
 * One markdown row per case: contiguous's prefill ms, decode ms per output token and request ms; the written row (the
 * comparison's best by the workload's objective) and the same three figures; the objective's gain over contiguous;
 * the prefill ceiling (contiguous's prefill over its prefill with attention perfectly balanced, `prefillCeilingMs`)
 * and the share of it the written plan captures; attention's share of contiguous's prefill; KV GB on the busiest GPU
 * (contiguous → written); and `ok`: written.requestMs ≤ contiguous.requestMs · (1 + 1e-9), else FAIL (exit 1).
 *
 * Run: `node --import tsx examples/bench-serving.ts [--quick]` (quick: HP 8 on MInference Llama-3.1-8B and
 * DuoAttention Llama-2-7B-32K only). Progress goes to stderr; the table and the summary to stdout.
 * Needs ../shared/data (skips with a message when it is absent).
 */
import { existsSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { comparePipelines, formatError, loadProfile, prefillCeilingMs, type Comparison, type LoadProfileOptions } from 'hplb/node';
import { SHARED_DATA_MISSING, sharedDataDir } from '@hplb/core/node';

const quick = process.argv.includes('--quick');
const data = sharedDataDir();
if (!data) {
  console.log(SHARED_DATA_MISSING);
  process.exit(0);
}

const N = 131072;
const HARDWARE = 'h100-sxm';
const HP = quick ? [8] : [2, 4, 8];
const DUO_SPARSITY = 0.5;
const WORKLOADS = [
  { mode: 'colocated', outputTokens: 256, batch: 1 },
  { mode: 'prefill', outputTokens: 256, batch: 1 },
] as const;

// ---------------------------------------------------------------- profiles

interface Source {
  readonly label: string;
  readonly path: string;
  readonly options: LoadProfileOptions;
}

const listDir = (sub: string): string[] => {
  const dir = join(data, sub);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
};

const sources: Source[] = [
  ...listDir('minference').filter((f) => f.endsWith('.json')).map((f) => ({
    label: `MInference ${f.replace(/_kv_out_v32_fit_o_best_pattern/, '').replace(/\.json$/, '')}`,
    path: join(data, 'minference', f),
    options: { format: 'minference' },
  })),
  ...listDir('duo').filter((d) => existsSync(join(data, 'duo', d, 'full_attention_heads.tsv'))).map((d) => ({
    label: `Duo ${d} s=${DUO_SPARSITY}`,
    path: join(data, 'duo', d),
    options: { format: 'duo', sparsity: DUO_SPARSITY },
  })),
  ...listDir('moa').filter((d) => existsSync(join(data, 'moa', d, 'moa_alpha_beta.json'))).map((d) => ({
    label: `MoA ${d.replace(/^.*?--/, '')}`,
    path: join(data, 'moa', d, 'moa_alpha_beta.json'),
    options: { format: 'moa' },
  })),
  ...listDir('xattention').filter((f) => f.endsWith('.json')).map((f) => ({
    label: `XAttention ${f.replace(/\.json$/, '')}`,
    path: join(data, 'xattention', f),
    options: { format: 'xattention' },
  })),
];

const QUICK = ['MInference Llama_3.1_8B_Instruct_128k', 'Duo Llama-2-7B-32K-Instruct'];
const selected = quick ? sources.filter((s) => QUICK.some((q) => s.label === q || s.label.startsWith(`${q} `))) : sources;

// ---------------------------------------------------------------- one case

type OkRow = Extract<Comparison['rows'][number], { ok: true }>;

interface Measured {
  readonly kind: 'measured';
  readonly profile: string;
  readonly model: string;
  readonly gpus: number;
  readonly mode: string;
  readonly n: number;
  readonly contiguous: NonNullable<OkRow['run']['plan']['serving']>;
  readonly written: NonNullable<OkRow['run']['plan']['serving']>;
  readonly writtenName: string;
  readonly gain: number;
  readonly prefillGain: number;
  readonly ceiling: number;
  readonly captured: number | undefined;
  readonly attentionShare: number;
  readonly ok: boolean;
  readonly seconds: number;
}

interface Skipped {
  readonly kind: 'skipped' | 'crashed';
  readonly profile: string;
  readonly model: string;
  readonly gpus: number | '-';
  readonly mode: string;
  readonly reason: string;
}

type Case = Measured | Skipped;

/** An error's text without the shared data folder's absolute path. */
const reasonOf = (e: Parameters<typeof formatError>[0]) => formatError(e).split(`${data}/`).join('');

const busiest = (kv: ReadonlyArray<number>) => Math.max(0, ...kv) / 1e9;

/** Runs one comparison at N, else at the profile's own context when N is refused for the context. */
const compare = async (src: Source, gpus: number, w: (typeof WORKLOADS)[number], own: number | undefined) => {
  const base = { gpus, hardware: HARDWARE, workload: { mode: w.mode, outputTokens: w.outputTokens, batch: w.batch } };
  const first = await comparePipelines(loaded.get(src.path)!, { ...base, contextLength: N });
  if (E.isRight(first) || own === undefined || own === N) return { r: first, n: N };
  const second = await comparePipelines(loaded.get(src.path)!, { ...base, contextLength: own });
  return E.isRight(second) ? { r: second, n: own } : { r: first, n: N };
};

const loaded = new Map<string, Extract<ReturnType<typeof loadProfile>, { _tag: 'Right' }>['right']>();

const runCase = async (src: Source, gpus: number, w: (typeof WORKLOADS)[number]): Promise<Case> => {
  const p = loaded.get(src.path)!;
  const model = p.profile.model;
  const own = 'contextLength' in p.profile ? (p.profile as { contextLength?: number }).contextLength : undefined;
  const t0 = performance.now();
  const { r, n } = await compare(src, gpus, w, own);
  const seconds = (performance.now() - t0) / 1000;
  if (E.isLeft(r)) return { kind: 'skipped', profile: src.label, model: model.name, gpus, mode: w.mode, reason: reasonOf(r.left) };
  const c = r.right;
  const contiguousRow = c.rows.find((x): x is OkRow => x.ok && x.name === 'contiguous') ?? c.rows.find((x): x is OkRow => x.ok && x.name.startsWith('contiguous'));
  const writtenRow = c.rows[c.chosen];
  if (!contiguousRow?.run.serving || !contiguousRow.run.plan.serving || !writtenRow?.ok || !writtenRow.run.plan.serving)
    return { kind: 'skipped', profile: src.label, model: model.name, gpus, mode: w.mode, reason: `no priced contiguous or written row (rows: ${c.rows.map((x) => x.name).join(', ')})` };
  const cs = contiguousRow.run.plan.serving;
  const ws = writtenRow.run.plan.serving;
  const ceilingMs = prefillCeilingMs(contiguousRow.run.serving);
  const ceiling = cs.prefillMs / ceilingMs;
  const prefillGain = cs.prefillMs / ws.prefillMs;
  return {
    kind: 'measured', profile: src.label, model: model.name, gpus, mode: w.mode, n,
    contiguous: cs, written: ws, writtenName: writtenRow.name,
    gain: cs.requestMs / ws.requestMs,
    prefillGain,
    ceiling,
    captured: ceiling - 1 < 1e-3 ? undefined : (prefillGain - 1) / (ceiling - 1),
    attentionShare: cs.attentionMs / cs.prefillMs,
    ok: ws.requestMs <= cs.requestMs * (1 + 1e-9),
    seconds,
  };
};

// ---------------------------------------------------------------- table

const f = (x: number, d = 1) => x.toFixed(d);
const fx = (x: number) => `${x.toFixed(3)}x`;
const HEADER = [
  'profile', 'model', 'GPUs', 'mode', 'N',
  'contig. prefill ms', 'contig. decode ms/tok', 'contig. request ms',
  'written row', 'written prefill ms', 'written decode ms/tok', 'written request ms',
  'objective gain', 'prefill ceiling', 'ceiling captured', 'attention share', 'KV GB busiest (contig. → written)', 'ok',
];
const lineOf = (cells: ReadonlyArray<string | number>) => `| ${cells.join(' | ')} |`;
const rowOf = (x: Case): string => {
  if (x.kind !== 'measured') {
    const cells: (string | number)[] = [x.profile, x.model, x.gpus, x.mode, '-', ...Array<string>(HEADER.length - 6).fill(''), x.kind === 'crashed' ? 'CRASH' : 'skip'];
    cells[8] = `${x.kind === 'crashed' ? 'crashed' : 'skipped'}: ${x.reason.replace(/\|/g, '\\|').replace(/\s+/g, ' ')}`;
    return lineOf(cells);
  }
  return lineOf([
    x.profile, x.model, x.gpus, x.mode, x.n,
    f(x.contiguous.prefillMs), f(x.contiguous.decodeMsPerToken, 3), f(x.contiguous.requestMs),
    x.writtenName, f(x.written.prefillMs), f(x.written.decodeMsPerToken, 3), f(x.written.requestMs),
    fx(x.gain), fx(x.ceiling), x.captured === undefined ? '-' : `${(x.captured * 100).toFixed(0)}%`,
    `${(x.attentionShare * 100).toFixed(0)}%`,
    `${f(busiest(x.contiguous.kvBytesPerDevice), 2)} → ${f(busiest(x.written.kvBytesPerDevice), 2)}`,
    x.ok ? 'ok' : 'FAIL',
  ]);
};

// ---------------------------------------------------------------- run

const cases: Case[] = [];
const t00 = performance.now();
const log = (s: string) => process.stderr.write(`${s}\n`);
const total = selected.length * HP.length * WORKLOADS.length;
let done = 0;
for (const src of selected) {
  const p = loadProfile(src.path, src.options);
  if (E.isLeft(p)) {
    const reason = reasonOf(p.left);
    log(`[load] ${src.label}: ${reason}`);
    cases.push({ kind: 'skipped', profile: src.label, model: '-', gpus: '-', mode: '-', reason });
    done += HP.length * WORKLOADS.length;
    continue;
  }
  loaded.set(src.path, p.right);
  const m = p.right.profile.model;
  for (const gpus of HP) {
    // Today's engines split query heads evenly over TP ranks and KV heads evenly, or replicate each over TP / KV ranks.
    const why = m.queryHeads % gpus !== 0
      ? `TP ${gpus} does not divide the ${m.queryHeads} query heads of ${m.name}`
      : m.kvHeads % gpus !== 0 && gpus % m.kvHeads !== 0 ? `TP ${gpus} neither divides nor is a multiple of the ${m.kvHeads} KV heads of ${m.name}` : undefined;
    for (const w of WORKLOADS) {
      done++;
      if (why) {
        log(`[${done}/${total}] ${src.label} HP ${gpus} ${w.mode}: skipped (${why})`);
        cases.push({ kind: 'skipped', profile: src.label, model: m.name, gpus, mode: w.mode, reason: why });
        continue;
      }
      log(`[${done}/${total}] ${src.label} HP ${gpus} ${w.mode} …`);
      let x: Case;
      try {
        x = await runCase(src, gpus, w);
      } catch (e) {
        x = { kind: 'crashed', profile: src.label, model: m.name, gpus, mode: w.mode, reason: e instanceof Error ? `${e.message}` : String(e) };
        log(`  crashed: ${e instanceof Error ? e.stack : String(e)}`);
      }
      cases.push(x);
      if (x.kind === 'measured') log(`  ${x.writtenName}: ${fx(x.gain)} (prefill ${fx(x.prefillGain)}, ceiling ${fx(x.ceiling)}) ${x.ok ? 'ok' : 'FAIL'} in ${x.seconds.toFixed(1)} s`);
      else log(`  ${x.kind}: ${x.reason}`);
    }
  }
}

const measured = cases.filter((x): x is Measured => x.kind === 'measured');
const fails = measured.filter((x) => !x.ok);
const crashes = cases.filter((x): x is Skipped => x.kind === 'crashed');
const beats = measured.filter((x) => x.gain > 1.01);
const capturedShares = measured.map((x) => x.captured).filter((c): c is number => c !== undefined).sort((a, b) => a - b);
const median = (xs: ReadonlyArray<number>) => xs.length === 0 ? NaN : xs.length % 2 ? xs[(xs.length - 1) / 2]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2;
const byMode = (mode: string) => measured.filter((x) => x.mode === mode);

const cpu = cpus();
console.log(`date: ${new Date().toISOString().slice(0, 10)}; machine: ${cpu.length}× ${cpu[0]?.model ?? 'cpu'} (2-core, shared with other jobs); hardware preset ${HARDWARE} (modelled, not measured)`);
console.log(`command: node --import tsx examples/bench-serving.ts${quick ? ' --quick' : ''}; N = ${N} where the profile allows, DuoAttention sparsity ${DUO_SPARSITY}, colocated = 256 output tokens batch 1`);
console.log('');
console.log(lineOf(HEADER));
console.log(lineOf(HEADER.map(() => '---')));
for (const x of cases) console.log(rowOf(x));
console.log('');
console.log(`summary: ${cases.length} cases, ${measured.length} planned, ${cases.length - measured.length - crashes.length} skipped, ${crashes.length} crashed, ${fails.length} FAIL; ` +
  `the written plan beats contiguous by >1% in ${beats.length} of ${measured.length} ` +
  `(colocated ${byMode('colocated').filter((x) => x.gain > 1.01).length}/${byMode('colocated').length}, prefill ${byMode('prefill').filter((x) => x.gain > 1.01).length}/${byMode('prefill').length}); ` +
  `median share of the prefill ceiling captured ${Number.isNaN(median(capturedShares)) ? '-' : `${(median(capturedShares) * 100).toFixed(0)}%`} over ${capturedShares.length} cases with a ceiling above 1.001x ` +
  `(colocated ${(median(byMode('colocated').map((x) => x.captured).filter((c): c is number => c !== undefined).sort((a, b) => a - b)) * 100).toFixed(0)}%, ` +
  `prefill ${(median(byMode('prefill').map((x) => x.captured).filter((c): c is number => c !== undefined).sort((a, b) => a - b)) * 100).toFixed(0)}%); ` +
  `${((performance.now() - t00) / 1000).toFixed(0)} s wall`);
if (fails.length > 0 || crashes.length > 0) {
  for (const x of fails) log(`FAIL: ${x.profile} HP ${x.gpus} ${x.mode}: written ${x.written.requestMs} ms > contiguous ${x.contiguous.requestMs} ms`);
  for (const x of crashes) log(`CRASH: ${x.profile} HP ${x.gpus} ${x.mode}: ${x.reason}`);
  process.exit(1);
}
