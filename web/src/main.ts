/**
 * The planner page: reads the controls and the dropped files, sends one request at a time to the solver Web Worker
 * (worker.ts), shows its progress with a cancel button, and renders what comes back: the comparison table, the
 * per-layer timeline SVG, plan.json (also in `#plan-json`) and the downloads. Errors are the library's one-line
 * messages, shown in `#error`; a bad file never breaks the page.
 *
 * `?run=default` plans the built-in default with the library's default settings as soon as the worker is ready
 * (what `hplb plan` does with no arguments). `document.body.dataset.state` (idle | busy | done | error | cancelled)
 * says where the page is, for people and for the browser test.
 */
import { BUDGET_POLICIES, PROFILE_FORMATS, SOLVER_NAMES } from 'hplb';
import type { PlanResult, PlanSettings, ProfileSource, TextFile, WorkerRequest, WorkerResponse } from './protocol.ts';
import { setupGpuPanel } from './gpuPanel.ts';

// ---------------------------------------------------------------- elements

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page lacks #${id}`);
  return e as T;
};

const el = {
  drop: $('drop'),
  file: $<HTMLInputElement>('file'),
  sourceName: $('source-name'),
  useDefault: $<HTMLButtonElement>('use-default'),
  format: $<HTMLSelectElement>('format'),
  model: $<HTMLInputElement>('model'),
  context: $<HTMLInputElement>('context'),
  sparsity: $<HTMLInputElement>('sparsity'),
  gpus: $<HTMLInputElement>('gpus'),
  speeds: $<HTMLInputElement>('speeds'),
  policy: $<HTMLSelectElement>('policy'),
  density: $<HTMLInputElement>('density'),
  solver: $<HTMLSelectElement>('solver'),
  split: $<HTMLSelectElement>('split'),
  kv: $<HTMLSelectElement>('kv'),
  equalHeads: $<HTMLInputElement>('equal-heads'),
  plan: $<HTMLButtonElement>('plan'),
  pareto: $<HTMLButtonElement>('pareto'),
  progress: $<HTMLProgressElement>('progress'),
  progressLabel: $('progress-label'),
  cancel: $<HTMLButtonElement>('cancel'),
  error: $('error'),
  status: $('status'),
  summary: $('summary'),
  notes: $('notes'),
  table: $<HTMLTableElement>('table'),
  downloadJson: $<HTMLAnchorElement>('download-json'),
  downloadSvg: $<HTMLAnchorElement>('download-svg'),
  timeline: $('timeline'),
  paretoChart: $('pareto-chart'),
  planJson: $('plan-json'),
};

type PageState = 'starting' | 'idle' | 'busy' | 'done' | 'error' | 'cancelled';
const setState = (s: PageState): void => {
  document.body.dataset['state'] = s;
};

// ---------------------------------------------------------------- the worker

let worker: Worker | undefined;
let nextId = 1;
/** The request in flight (at most one), and what to do with its answer. */
let pending: { id: number; kind: 'plan' | 'pareto'; started: number } | undefined;

const startWorker = (): void => {
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'hplb-solver' });
  w.onmessage = (e: MessageEvent<WorkerResponse>) => onWorkerMessage(e.data);
  w.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    finish('error');
    showError(`the solver worker failed: ${e.message || 'it could not start (see the browser console)'}`);
  };
  worker = w;
  const hello: WorkerRequest = { type: 'hello', id: nextId++ };
  w.postMessage(hello);
};

const send = (kind: 'plan' | 'pareto', source: ProfileSource, settings: PlanSettings): void => {
  if (worker === undefined) startWorker();
  const id = nextId++;
  pending = { id, kind, started: performance.now() };
  const req: WorkerRequest = { type: kind, id, source, settings };
  worker!.postMessage(req);
  showError('');
  setBusy(true, kind === 'plan' ? 'planning…' : 'sweeping densities…');
};

/** Cancel: a solver in one long synchronous step cannot be interrupted, so the worker is replaced. */
const cancel = (): void => {
  if (pending === undefined) return;
  worker?.terminate();
  worker = undefined;
  pending = undefined;
  startWorker();
  setBusy(false, 'cancelled');
  setState('cancelled');
};

const onWorkerMessage = (m: WorkerResponse): void => {
  if (m.type === 'ready') {
    el.status.textContent = `solver worker ready (${m.library})`;
    if (document.body.dataset['state'] === 'starting') {
      setState('idle');
      if (new URLSearchParams(location.search).get('run') === 'default') runDefault();
    }
    return;
  }
  if (pending === undefined || m.id !== pending.id) return; // an answer to a cancelled request
  switch (m.type) {
    case 'progress':
      el.progress.max = Math.max(1, m.total);
      el.progress.value = m.done;
      el.progressLabel.textContent = `${m.label} (${m.done}/${m.total})`;
      return;
    case 'error':
      finish('error');
      showError(m.message);
      return;
    case 'plan-result':
      finish('done', `planned in ${m.seconds.toFixed(2)} s`);
      showPlan(m.result);
      return;
    case 'pareto-result':
      finish('done', `Pareto sweep in ${m.seconds.toFixed(2)} s`);
      el.paretoChart.innerHTML = m.svg;
      return;
  }
};

const finish = (state: PageState, status?: string): void => {
  pending = undefined;
  setBusy(false, status ?? '');
  setState(state);
};

const setBusy = (busy: boolean, status: string): void => {
  el.plan.disabled = busy;
  el.pareto.disabled = busy;
  el.cancel.hidden = !busy;
  el.progress.hidden = !busy;
  if (busy) {
    el.progress.removeAttribute('value'); // indeterminate until the first progress report
    el.progressLabel.textContent = '';
    setState('busy');
  } else el.progressLabel.textContent = '';
  el.status.textContent = status;
};

const showError = (message: string): void => {
  el.error.textContent = message;
};

// ---------------------------------------------------------------- inputs

let source: ProfileSource = { kind: 'default' };

const readFiles = async (list: FileList | ReadonlyArray<File>): Promise<void> => {
  const files = Array.from(list);
  if (files.length === 0) return;
  let texts: TextFile[];
  try {
    texts = await Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() })));
  } catch (e) {
    showError(`could not read the dropped file: ${e instanceof Error ? e.message : String(e)}`);
    setState('error');
    return;
  }
  const configs = texts.filter(isModelConfig);
  const profiles = texts.filter((t) => !configs.includes(t));
  if (profiles.length > 1) {
    showError(`drop one profile at a time (plus an optional config.json), not ${profiles.map((p) => p.name).join(', ')}`);
    setState('error');
    return;
  }
  if (configs.length > 1) {
    showError(`drop at most one config.json, not ${configs.map((p) => p.name).join(', ')}`);
    setState('error');
    return;
  }
  const profile = profiles[0] ?? (source.kind === 'file' ? source.profile : undefined);
  const config = configs[0] ?? (source.kind === 'file' && profiles.length === 0 ? source.config : undefined);
  if (profile === undefined) {
    showError(`${configs[0]!.name}: a model config.json needs a profile with it (drop the profile too)`);
    setState('error');
    return;
  }
  source = { kind: 'file', profile, ...(config !== undefined ? { config } : {}) };
  el.sourceName.textContent = config !== undefined ? `${profile.name} + ${config.name}` : profile.name;
  el.useDefault.hidden = false;
  showError('');
  if (pending === undefined) plan();
};

/** A Hugging Face config.json: by name, or by its fields. */
const isModelConfig = (f: TextFile): boolean => {
  if (/(^|[/\\])config\.json$/i.test(f.name)) return true;
  if (!/\.json$/i.test(f.name)) return false;
  return /"num_hidden_layers"\s*:/.test(f.text.slice(0, 20000)) && /"num_attention_heads"\s*:/.test(f.text.slice(0, 20000));
};

const num = (i: HTMLInputElement): number | undefined => (i.value.trim() === '' ? undefined : Number(i.value));
const str = (s: HTMLSelectElement | HTMLInputElement): string | undefined => (s.value.trim() === '' ? undefined : s.value.trim());

/** The controls as settings; an empty control is left out, so the library's default applies. */
const readSettings = (): PlanSettings => {
  const speedsText = el.speeds.value.trim();
  const speeds = speedsText === '' ? undefined : speedsText.split(/[\s,]+/).filter((s) => s !== '').map(Number);
  const split = el.split.value;
  const o: Record<string, unknown> = {
    gpus: num(el.gpus),
    speeds,
    policy: str(el.policy),
    density: num(el.density),
    solver: str(el.solver),
    splitHeads: split === '' ? undefined : split === 'split',
    equalHeads: el.equalHeads.checked ? true : undefined,
    kv: str(el.kv),
    format: str(el.format),
    contextLength: num(el.context),
    model: str(el.model),
    sparsity: num(el.sparsity),
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as PlanSettings;
};

const plan = (): void => send('plan', source, readSettings());
const pareto = (): void => send('pareto', source, readSettings());
/** The main job: the built-in default with the library's default settings (what `hplb plan` runs with no flags). */
const runDefault = (): void => send('plan', { kind: 'default' }, {});

// ---------------------------------------------------------------- outputs

let objectUrls: string[] = [];

const offer = (a: HTMLAnchorElement, text: string, type: string): void => {
  const url = URL.createObjectURL(new Blob([text], { type }));
  objectUrls.push(url);
  a.href = url;
  a.setAttribute('aria-disabled', 'false');
};

const showPlan = (r: PlanResult): void => {
  for (const u of objectUrls) URL.revokeObjectURL(u);
  objectUrls = [];
  el.summary.textContent = r.summary;
  el.notes.replaceChildren(...r.notes.map((n) => Object.assign(document.createElement('li'), { textContent: n })));
  const head = document.createElement('thead');
  const hr = head.insertRow();
  for (const h of r.table.head) hr.appendChild(Object.assign(document.createElement('th'), { textContent: h }));
  const body = document.createElement('tbody');
  for (const row of r.table.rows) {
    const tr = body.insertRow();
    if (row.written) tr.className = 'written';
    if (row.failed) tr.className = 'failed';
    for (const c of row.cells) tr.insertCell().textContent = c;
  }
  el.table.replaceChildren(head, body);
  // The SVG comes from the library's renderer, which escapes every text it places (planner svg/xml.ts).
  el.timeline.innerHTML = r.svg;
  el.planJson.textContent = r.planJson;
  offer(el.downloadJson, r.planJson, 'application/json');
  offer(el.downloadSvg, r.svg, 'image/svg+xml');
};

// ---------------------------------------------------------------- wiring

/** The choices come from the library (its names, its order); the first option of each select means "default". */
const fillSelect = (select: HTMLSelectElement, names: ReadonlyArray<string>): void => {
  for (const n of names) select.appendChild(Object.assign(document.createElement('option'), { value: n, textContent: n }));
};
fillSelect(el.format, PROFILE_FORMATS);
fillSelect(el.policy, BUDGET_POLICIES);
// The ILP solvers need an ILP engine, which only `hplb/node` has (HiGHS / GLPK in worker threads).
fillSelect(el.solver, SOLVER_NAMES.filter((s) => !s.startsWith('ilp-')));

el.plan.addEventListener('click', plan);
el.pareto.addEventListener('click', pareto);
el.cancel.addEventListener('click', cancel);
el.file.addEventListener('change', () => {
  if (el.file.files !== null) void readFiles(el.file.files);
  el.file.value = '';
});
el.useDefault.addEventListener('click', () => {
  source = { kind: 'default' };
  el.sourceName.textContent = 'built-in default';
  el.useDefault.hidden = true;
});
el.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  el.drop.classList.add('over');
});
el.drop.addEventListener('dragleave', () => el.drop.classList.remove('over'));
el.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  el.drop.classList.remove('over');
  if (e.dataTransfer !== null) void readFiles(e.dataTransfer.files);
});
// A file dropped anywhere else must not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

setState('starting');
startWorker();
setupGpuPanel();
