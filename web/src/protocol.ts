/**
 * The messages between the page (main.ts) and its Web Worker (worker.ts). Every message carries the `id` of the
 * request it belongs to, so a late answer to a cancelled request is recognised and dropped. Plain data only
 * (structured clone): file contents travel as text, results as the strings the page shows or offers for download.
 *
 * Cancel: the page terminates the worker and starts a fresh one (a solver inside one long synchronous step cannot
 * be interrupted any other way), so there is no cancel message.
 */

// ---------------------------------------------------------------- model

/** A file the user dropped or picked, read as text on the page. */
export interface TextFile {
  readonly name: string;
  readonly text: string;
}

/** What to plan: the built-in default profile, or a dropped profile plus an optional Hugging Face config.json. */
export type ProfileSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'file'; readonly profile: TextFile; readonly config?: TextFile };

/**
 * The page's controls. An absent field means "the library's default" (the facade decides, the page never restates
 * a default), so the default run sends `{}`.
 */
export interface PlanSettings {
  readonly gpus?: number;
  /** Relative speed per GPU, one per GPU. */
  readonly speeds?: ReadonlyArray<number>;
  readonly policy?: string;
  readonly density?: number;
  readonly solver?: string;
  readonly splitHeads?: boolean;
  readonly equalHeads?: boolean;
  readonly kv?: 'group' | 'replicate';
  /** Profile format; absent: detected from the file. */
  readonly format?: string;
  readonly contextLength?: number;
  /** Model name, when the file name does not say. */
  readonly model?: string;
  /** DuoAttention: share of KV heads that stream. */
  readonly sparsity?: number;
}

export type WorkerRequest =
  | { readonly type: 'hello'; readonly id: number }
  | { readonly type: 'plan'; readonly id: number; readonly source: ProfileSource; readonly settings: PlanSettings }
  | { readonly type: 'pareto'; readonly id: number; readonly source: ProfileSource; readonly settings: PlanSettings };

/** One row of the comparison table, already formatted the way the CLI prints it. */
export interface TableRow {
  readonly cells: ReadonlyArray<string>;
  /** The row whose plan is written (plan.json, plan.svg). */
  readonly written: boolean;
  readonly failed: boolean;
}

export interface PlanResult {
  /** The plan exactly as `hplb plan` writes plan.json. */
  readonly planJson: string;
  /** plan.svg, from the CLI's SVG renderer. */
  readonly svg: string;
  readonly table: { readonly head: ReadonlyArray<string>; readonly rows: ReadonlyArray<TableRow> };
  /** One-line description: profile, N, GPUs, budgets. */
  readonly summary: string;
  /** Notes the CLI prints too (synthetic profile, published vs modelled numbers). */
  readonly notes: ReadonlyArray<string>;
}

export type WorkerResponse =
  | { readonly type: 'ready'; readonly id: number; readonly library: string }
  | { readonly type: 'progress'; readonly id: number; readonly done: number; readonly total: number; readonly label: string }
  | { readonly type: 'plan-result'; readonly id: number; readonly result: PlanResult; readonly seconds: number }
  | { readonly type: 'pareto-result'; readonly id: number; readonly svg: string; readonly seconds: number }
  /** A one-line message as the CLI prints it (`formatError`). */
  | { readonly type: 'error'; readonly id: number; readonly message: string };

// ---------------------------------------------------------------- the GPU worker (gpuWorker.ts)

/** The calibration grid the page sweeps (smaller than `hplb calibrate`'s default: it runs in a visitor's tab). */
export interface GpuGrid {
  readonly contexts: ReadonlyArray<number>;
  readonly fractions: ReadonlyArray<number>;
  readonly repeats: number;
}

export type GpuRequest = { readonly type: 'gpu-run'; readonly id: number; readonly grid: GpuGrid };

/** One conformance case's outcome (as `@hplb/spec/cases` reports it). */
export interface GpuCase {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly message?: string;
  readonly seconds: number;
}

export type GpuResponse =
  | { readonly type: 'gpu-started'; readonly id: number; readonly device: string; readonly mode: string }
  | { readonly type: 'gpu-case'; readonly id: number; readonly result: GpuCase; readonly done: number; readonly total: number }
  | { readonly type: 'gpu-progress'; readonly id: number; readonly done: number; readonly total: number; readonly label: string }
  | {
    readonly type: 'gpu-done'; readonly id: number;
    readonly passed: number; readonly failed: number; readonly skipped: number;
    /** The `hplb.calibration/1` file's text, or why there is none. */
    readonly calibration: { readonly ok: true; readonly json: string; readonly summary: string } | { readonly ok: false; readonly message: string };
  }
  /** The backend could not start (one line, `formatError`). */
  | { readonly type: 'gpu-error'; readonly id: number; readonly message: string };
