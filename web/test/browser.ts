/**
 * The browser test kit: Debian's headless Chromium (/usr/bin/chromium, installed by scripts/setup-system.sh; never
 * a downloaded browser) driven by playwright-core, with a fresh profile directory per launch, and the built page
 * served from 127.0.0.1 on an ephemeral port. `withPage` always closes the browser, removes the profile and stops
 * the server, whatever the test did.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../scripts/serve.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumMissing = (): string | undefined =>
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (scripts/setup-system.sh installs Debian's chromium)`;

const BASE_ARGS = [
  '--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
/** WebGPU: no --disable-gpu, Vulkan on (lavapipe on a machine without a GPU). */
const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan'];

export interface Session {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly server: StaticServer;
  /** Console errors and uncaught page errors seen so far. */
  readonly problems: string[];
}

export interface SessionOptions {
  readonly webgpu?: boolean;
  readonly viewport?: { width: number; height: number };
}

/** Serve `dir`, launch Chromium on a fresh profile, open a page; always cleaned up after `f`. */
export const withPage = async <A>(dir: string, options: SessionOptions, f: (s: Session) => Promise<A>): Promise<A> => {
  const server = await serveStatic(dir, 0);
  const profile = mkdtempSync(join(tmpdir(), 'hplb-web-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...BASE_ARGS, ...(options.webgpu ? WEBGPU_ARGS : ['--disable-gpu'])],
      viewport: options.viewport ?? { width: 1280, height: 1000 },
      timeout: 60_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    return await f({ page, context, server, problems });
  } finally {
    await context?.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
    await server.close();
  }
};

/** Wait until the page's state (body[data-state]) is one of `states`; bounded by `timeoutMs`. */
/** Wait until the page's state is one of `states`; returns the state that matched (read once: no second read can race the page). */
export const waitForState = async (page: Page, states: ReadonlyArray<string>, timeoutMs: number): Promise<string> => {
  const h = await page.waitForFunction((s) => { const v = document.body.dataset['state'] ?? ''; return s.includes(v) ? v : false; }, states, { timeout: timeoutMs, polling: 100 });
  return (await h.jsonValue()) as string;
};
