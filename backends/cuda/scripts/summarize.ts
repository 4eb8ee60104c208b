/**
 * Turns the device check's outputs into the Markdown summary the lead pastes into backends/cuda/RESULTS.md:
 * device, driver and date; each step's status; conformance counts and failures; kernel times per shape next to
 * SDPA-FLASH (FA2) and FlexAttention with the same block mask; and every target of issue [cuda] with its measured
 * value and pass / FAIL. Missing inputs (a step that failed or was skipped) show as "not run", never as numbers.
 * Run by scripts/device-check.sh; pure formatting, no GPU.
 *
 *   node --import tsx backends/cuda/scripts/summarize.ts --dir $OUT --work /tmp/work --status "<status table rows>"
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CudaRow {
  readonly id: string;
  readonly tokens: number;
  readonly heads: number;
  readonly targetDensityPct: number;
  readonly blockDensity: number;
  readonly kernelMs: number;
  readonly firstKernelMs: number;
  readonly tflops: number;
}
export interface CudaBench {
  readonly device?: { readonly device?: string };
  readonly results: CudaRow[];
  readonly blockMass: Array<{ tokens: number; kernelMs: number }>;
  readonly linearity: Array<{ tokens: number; r2: number; slope: number; intercept: number }>;
  /** The timing protocol's summary per N (@hplb/runtime/timing): spread, re-measures, contention, noisy. */
  readonly timing?: Array<{ tokens: number; noisy: boolean; note: string }>;
}
export interface TorchTiming { readonly tokens: number; readonly heads: number; readonly ms: number; readonly firstMs: number }
export interface TorchResults {
  readonly torch: string;
  readonly device: string;
  readonly flash: TorchTiming[];
  readonly flex: Array<TorchTiming & { id: string; kernelOptions: unknown }>;
  readonly checks: Array<{ tokens: number; what: string; value: number }>;
}

const arg = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const readJson = <A>(file: string): A | undefined => {
  try {
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as A) : undefined;
  } catch {
    return undefined;
  }
};
const readText = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
const f = (x: number | undefined, digits = 3): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));
const k = (n: number): string => (n % 1024 === 0 ? `${n / 1024}K` : String(n));

export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

/** Every target of issue [cuda] that these outputs can decide; undefined pass = not measured. */
export const evaluateTargets = (cuda: CudaBench | undefined, torch: TorchResults | undefined, calibrationR2: number | undefined, makespanError: number | undefined): Target[] => {
  const out: Target[] = [];
  const dense = (N: number) => cuda?.results.find((r) => r.tokens === N && r.targetDensityPct >= 100);
  const flash = (N: number, H: number) => torch?.flash.find((t) => t.tokens === N && t.heads === H);
  const Ns = [...new Set(cuda?.results.map((r) => r.tokens) ?? [])].sort((a, b) => a - b);
  for (const N of Ns) {
    const d = dense(N);
    const fa = d ? flash(N, d.heads) : undefined;
    const ratio = d && fa ? fa.ms / d.kernelMs : undefined;
    out.push({ name: `dense N=${k(N)}: throughput ≥ 0.7× FA2 (SDPA-FLASH)`, measured: ratio === undefined ? 'not run' : `${f(ratio, 2)}× (${f(d!.kernelMs)} vs ${f(fa!.ms)} ms)`, pass: ratio === undefined ? undefined : ratio >= 0.7 });
  }
  for (const N of Ns.filter((n) => n >= 65536)) {
    const d = dense(N);
    const s = cuda?.results.find((r) => r.tokens === N && r.targetDensityPct === 10);
    const retention = d && s ? (d.kernelMs * s.blockDensity) / s.kernelMs : undefined;
    out.push({ name: `10 % density N=${k(N)}: retention ≥ 0.5 (dense × density ÷ sparse)`, measured: retention === undefined ? 'not run' : `${f(retention, 2)} (density ${f(100 * s!.blockDensity, 1)} %, speed-up ${f(d!.kernelMs / s!.kernelMs, 1)}×)`, pass: retention === undefined ? undefined : retention >= 0.5 });
  }
  for (const r of cuda?.results.filter((x) => x.targetDensityPct < 100) ?? []) {
    const fx = torch?.flex.find((t) => t.id === r.id);
    if (fx === undefined) continue;
    const ratio = r.kernelMs / fx.ms;
    out.push({ name: `${r.id}: within 1.25× of FlexAttention`, measured: `${f(ratio, 2)}× (${f(r.kernelMs)} vs ${f(fx.ms)} ms)`, pass: ratio <= 1.25 });
  }
  if (torch === undefined && cuda !== undefined) out.push({ name: 'within 1.25× of FlexAttention', measured: 'not run', pass: undefined });
  for (const m of cuda?.blockMass ?? []) {
    const fa = flash(m.tokens, 1);
    const ratio = fa ? m.kernelMs / fa.ms : undefined;
    out.push({ name: `blockMass N=${k(m.tokens)} ≤ 1.5× one FA2 forward (1 head)`, measured: ratio === undefined ? `${f(m.kernelMs)} ms; FA2 not run` : `${f(ratio, 2)}× (${f(m.kernelMs)} vs ${f(fa!.ms)} ms)`, pass: ratio === undefined ? undefined : ratio <= 1.5 });
  }
  for (const l of cuda?.linearity ?? []) out.push({ name: `time linear in budget N=${k(l.tokens)} (R² ≥ 0.98)`, measured: `R² = ${f(l.r2, 4)}`, pass: l.r2 >= 0.98 });
  if (cuda === undefined) out.push({ name: 'kernel targets (dense vs FA2, retention, FlexAttention, blockMass, linearity)', measured: 'not run', pass: undefined });
  out.push({ name: 'calibration fit R²', measured: calibrationR2 === undefined ? 'not run' : f(calibrationR2, 4), pass: calibrationR2 === undefined ? undefined : calibrationR2 >= 0.98 });
  out.push({ name: 'predicted vs measured per-layer makespan within 10 % after calibration', measured: makespanError === undefined ? 'not run (see execute.txt)' : `${f(100 * makespanError, 1)} % (worst of the executed layers)`, pass: makespanError === undefined ? undefined : makespanError <= 0.1 });
  return out;
};

/** The device check's outputs, each undefined when its step did not produce it. */
export interface SummaryInputs {
  readonly status: string;
  readonly device?: string;
  readonly tap?: string;
  readonly cuda?: CudaBench;
  readonly torch?: TorchResults;
  readonly calibration?: { readonly fit?: { readonly r2?: number }; readonly timing?: { readonly noisy?: boolean; readonly note?: string } };
  readonly execute?: string;
}

/** The Markdown summary (pure). */
export const renderSummary = (x: SummaryInputs): string => {
  const { status, device, tap, cuda, torch, calibration, execute } = x;
  const lines: string[] = [];
  const gpu = device?.match(/^gpu: (.*)$/m)?.[1] ?? cuda?.device?.device ?? 'device not recorded';
  lines.push(`# CUDA backend on ${gpu}`, '');
  lines.push('```', (device ?? 'device.txt missing').trim(), '```', '');
  lines.push('## Steps', '', '| step | status | time |', '| --- | --- | --- |', status.trim(), '');

  lines.push('## Conformance (cuda backend, init required)', '');
  if (tap === undefined) lines.push('not run', '');
  else {
    const count = (what: string) => tap.match(new RegExp(`^# ${what} (\\d+)`, 'm'))?.[1] ?? '?';
    lines.push(`tests ${count('tests')}, pass ${count('pass')}, fail ${count('fail')}, skipped ${count('skipped')}`, '');
    const failed = [...tap.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]!);
    for (const x of failed.slice(0, 30)) lines.push(`- not ok: ${x}`);
    lines.push('');
  }

  const checks = (cuda as { checks?: Array<{ id: string; kernel: string; precision: string; versus: string; maxAbsDiffOut: number; maxAbsDiffLse: number }> } | undefined)?.checks ?? [];
  if (checks.length > 0) {
    lines.push('## Large-shape cross-check', '');
    for (const c of checks) lines.push(`- ${c.id}, ${c.kernel} kernel at ${c.precision} vs the ${c.versus}: max |Δout| ${c.maxAbsDiffOut.toExponential(2)}, max |Δlse| ${c.maxAbsDiffLse.toExponential(2)}`);
    lines.push('');
  }
  lines.push('## Kernel time (CUDA events, inputs on the GPU; median of steady calls)', '');
  if (cuda === undefined) lines.push('not run', '');
  else {
    lines.push('| case | heads | block density | cuda ms | first ms | TFLOP/s | FlexAttention ms | cuda ÷ Flex | retention |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of cuda.results) {
      const dense = cuda.results.find((x) => x.tokens === r.tokens && x.targetDensityPct >= 100);
      const fx = torch?.flex.find((t) => t.id === r.id);
      const retention = dense ? (dense.kernelMs * r.blockDensity) / r.kernelMs : undefined;
      lines.push(`| ${r.id} | ${r.heads} | ${f(100 * r.blockDensity, 2)} % | ${f(r.kernelMs)} | ${f(r.firstKernelMs)} | ${f(r.tflops, 1)} | ${f(fx?.ms)} | ${fx ? f(r.kernelMs / fx.ms, 2) : '–'} | ${f(retention, 2)} |`);
    }
    lines.push('');
    const simple = (cuda as { simpleKernel?: Array<{ id: string; kernelMs: number; pipelinedKernelMs: number }> }).simpleKernel ?? [];
    if (simple.length > 0) {
      lines.push('Simple (unpipelined) kernel on the same cases:', '', '| case | simple ms | pipelined ms | speed-up |', '| --- | --- | --- | --- |');
      for (const x of simple) lines.push(`| ${x.id} | ${f(x.kernelMs)} | ${f(x.pipelinedKernelMs)} | ${f(x.kernelMs / x.pipelinedKernelMs, 2)}× |`);
      lines.push('');
    }
    if (torch !== undefined) {
      lines.push(`SDPA-FLASH (FA2), torch ${torch.torch}:`, '', '| N | heads | ms | first ms |', '| --- | --- | --- | --- |');
      for (const t of torch.flash) lines.push(`| ${k(t.tokens)} | ${t.heads} | ${f(t.ms)} | ${f(t.firstMs, 1)} |`);
      lines.push('');
      for (const c of torch.checks) lines.push(`- check N=${k(c.tokens)}: ${c.what} = ${c.value.toExponential(2)}`);
      const opts = torch.flex.find((x) => x.kernelOptions !== null)?.kernelOptions;
      if (opts !== undefined) lines.push(`- FlexAttention kernel options: ${JSON.stringify(opts)}`);
      lines.push('');
    }
  }

  // The timing protocol: how noisy each measurement was (a noisy one says so instead of passing silently).
  lines.push('## Timing protocol (warm-up apart, interleaved repeats, median and IQR, contention re-measured)', '');
  const noiseLine = execute?.match(/^noise: (.*)$/m)?.[1];
  const rows: Array<[string, string]> = [
    ...(cuda?.timing ?? []).map((t): [string, string] => [`bench-cuda N=${k(t.tokens)}`, t.note]),
    ['hplb calibrate', calibration?.timing?.note ?? 'not run'],
    ['hplb execute', noiseLine ?? 'not run'],
  ];
  lines.push('| measurement | timing |', '| --- | --- |', ...rows.map(([m, n]) => `| ${m} | ${n} |`), '');
  const noisy = rows.filter(([, n]) => n.startsWith('NOISY')).map(([m]) => m);
  if (noisy.length > 0) lines.push(`Noisy: ${noisy.join(', ')}: their numbers carry more spread than the protocol's threshold; rerun before quoting them.`, '');

  // hplb execute prints "makespan error median X%, max Y%" (per layer): the target holds when the max does.
  const makespan = execute?.match(/makespan error median [0-9.]+%, max ([0-9.]+)%/)?.[1];
  const targets = evaluateTargets(cuda, torch, calibration?.fit?.r2, makespan !== undefined ? Number(makespan) / 100 : undefined);
  lines.push('## Targets of issue [cuda]', '', '| target | measured | result |', '| --- | --- | --- |');
  for (const t of targets) lines.push(`| ${t.name} | ${t.measured} | ${t.pass === undefined ? 'not run' : t.pass ? 'pass' : 'FAIL'} |`);
  lines.push('');
  if (execute !== undefined) lines.push('## hplb execute (tail)', '', '```', execute.trim().split('\n').slice(-25).join('\n'), '```', '');
  return lines.join('\n') + '\n';
};

const main = (): void => {
  const dir = arg('--dir') ?? '.';
  const work = arg('--work') ?? dir;
  process.stdout.write(renderSummary({
    status: arg('--status') ?? '',
    ...opt('device', readText(join(work, 'device.txt'))),
    ...opt('tap', readText(join(dir, 'conformance.tap'))),
    ...opt('cuda', readJson<CudaBench>(join(dir, 'cuda-bench.json'))),
    ...opt('torch', readJson<TorchResults>(join(dir, 'torch.json'))),
    ...opt('calibration', readJson<{ fit?: { r2?: number } }>(join(dir, 'calibration.json'))),
    ...opt('execute', readText(join(dir, 'execute.txt'))),
  }));
};

const opt = <K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> => (v === undefined ? {} : ({ [key]: v } as Record<K, V>));

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
