/**
 * The planner page in a real browser (Debian's headless Chromium through playwright-core): build the site into a
 * temporary directory with the real bundler, serve it from 127.0.0.1, and check what a visitor sees. Skipped, with
 * the reason, only when Chromium is not installed (scripts/setup-system.sh installs it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSite } from '../scripts/build.ts';
import { chromiumMissing, waitForState, withPage } from './browser.ts';

const skip = chromiumMissing() ?? false;
let site = '';

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'hplb-web-site-'));
  await buildSite(join(site, 'dist'));
});
after(() => rmSync(site, { recursive: true, force: true }));

test('the build writes a static site: index.html, style.css, main.js and worker.js, with no Node built-ins', () => {
  const dist = join(site, 'dist');
  for (const f of ['index.html', 'style.css', 'main.js', 'worker.js']) assert.ok(existsSync(join(dist, f)), `${f} is missing from the build`);
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  assert.match(html, /<script type="module" src="main\.js"><\/script>/);
  for (const f of ['main.js', 'worker.js']) {
    const js = readFileSync(join(dist, f), 'utf8');
    assert.doesNotMatch(js, /\bfrom\s*["']node:|\brequire\(["'](node:)?(fs|path|child_process|worker_threads)["']\)/, `${f} imports a Node built-in`);
  }
});

test('the page loads, its solver worker answers, and the GPU panel says whether WebGPU is available', { skip, timeout: 120_000 }, async () => {
  await withPage(join(site, 'dist'), {}, async ({ page, server, problems }) => {
    await page.goto(server.url);
    assert.equal(await waitForState(page, ['idle', 'error'], 60_000), 'idle');
    assert.match((await page.textContent('#status')) ?? '', /solver worker ready \(hplb \d+\.\d+\.\d+\)/);
    await page.waitForFunction(() => document.getElementById('gpu-panel')?.dataset['webgpu'] !== undefined, null, { timeout: 30_000 });
    const gpu = await page.evaluate(() => ({ state: document.getElementById('gpu-panel')!.dataset['webgpu'], text: document.getElementById('gpu-status')!.textContent }));
    // Launched with --disable-gpu: WebGPU has no adapter (or no navigator.gpu), and the panel must say so in words.
    assert.notEqual(gpu.state, 'available', `with --disable-gpu no adapter was expected, got: ${gpu.text}`);
    assert.match(gpu.text ?? '', /cannot run here/);
    assert.deepEqual(problems, []);
  });
});
