/**
 * The "benchmark this GPU" panel in headless Chromium:
 *   - launched with --disable-gpu, the panel says in words that the benchmark cannot run here;
 *   - launched with WebGPU on (--enable-unsafe-webgpu --enable-features=Vulkan, no --disable-gpu), where Chromium
 *     exposes an adapter (here: SwiftShader, Chromium's software Vulkan; not Mesa's lavapipe), the WebGPU backend
 *     passes every conformance case on navigator.gpu and the calibration sweep gives a valid hplb.calibration/1.
 *     Where Chromium exposes no adapter, that test is skipped with the panel's own explanation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CalibrationC } from 'hplb';
import { buildSite } from '../scripts/build.ts';
import { chromiumMissing, waitForState, withPage } from './browser.ts';

const skip = chromiumMissing() ?? false;
let site = '';

before(async () => {
  site = mkdtempSync(join(tmpdir(), 'hplb-web-gpu-'));
  await buildSite(join(site, 'dist'));
});
after(() => rmSync(site, { recursive: true, force: true }));

const panelState = (page: import('playwright-core').Page) =>
  page.evaluate(() => ({ state: document.getElementById('gpu-panel')!.dataset['webgpu'], text: document.getElementById('gpu-status')!.textContent ?? '' }));

test('without a GPU (--disable-gpu) the panel says the benchmark cannot run here, and why', { skip, timeout: 120_000 }, async () => {
  await withPage(join(site, 'dist'), {}, async ({ page, server, problems }) => {
    await page.goto(server.url);
    assert.equal(await waitForState(page, ['idle', 'error'], 60_000), 'idle');
    await page.waitForFunction(() => document.getElementById('gpu-panel')?.dataset['webgpu'] !== undefined, null, { timeout: 30_000 });
    const gpu = await panelState(page);
    assert.notEqual(gpu.state, 'available', `with --disable-gpu no adapter was expected, got: ${gpu.text}`);
    assert.match(gpu.text, /cannot run here/);
    assert.equal(await page.isHidden('#gpu-run'), true, 'no benchmark button without an adapter');
    assert.deepEqual(problems, []);
  });
});

test('with WebGPU on: every conformance case passes on navigator.gpu and the calibration is a valid hplb.calibration/1', { skip, timeout: 600_000 }, async (t) => {
  await withPage(join(site, 'dist'), { webgpu: true }, async ({ page, server, problems }) => {
    // A small sweep: N 512 and 1024, two budgets each, one timed run per point (after the warm-up).
    await page.goto(`${server.url}?gpu-contexts=512,1024&gpu-fractions=0.25,0.5&gpu-repeats=1`);
    await page.waitForFunction(() => document.getElementById('gpu-panel')?.dataset['webgpu'] !== undefined, null, { timeout: 60_000 });
    const gpu = await panelState(page);
    if (gpu.state !== 'available') {
      t.skip(`headless Chromium exposes no WebGPU adapter here: ${gpu.text}`);
      return;
    }
    t.diagnostic(gpu.text);
    await page.click('#gpu-run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('gpu-panel')!.dataset['run'] ?? ''), null, { timeout: 540_000, polling: 500 });
    const r = await page.evaluate(() => {
      const p = document.getElementById('gpu-panel')!;
      return { run: p.dataset['run'], passed: Number(p.dataset['passed']), failed: Number(p.dataset['failed']), status: document.getElementById('gpu-status')!.textContent, log: document.getElementById('gpu-log')!.textContent };
    });
    for (const l of (r.log ?? '').trim().split('\n')) t.diagnostic(l);
    assert.equal(r.failed, 0, `conformance failures:\n${r.log}`);
    assert.ok(r.passed >= 14, `only ${r.passed} cases passed:\n${r.log}`);
    assert.equal(r.run, 'done', r.status ?? '');
    const href = await page.getAttribute('#download-calibration', 'href');
    assert.match(href ?? '', /^blob:/);
    const text = await page.evaluate(async (h) => (await fetch(h)).text(), href!);
    const json = JSON.parse(text) as { format?: string; backend?: string; samples?: unknown[]; costModel?: { unit?: string; perTokenPair?: number } };
    assert.equal(CalibrationC.decode(json)._tag, 'Right', 'the calibration decodes as hplb.calibration/1');
    assert.equal(json.format, 'hplb.calibration/1');
    assert.equal(json.backend, 'webgpu');
    assert.equal(json.samples?.length, 12, 'per grid point (2 contexts x 2 budgets) a whole head and two split parts');
    assert.equal(json.costModel?.unit, 'seconds');
    assert.ok((json.costModel?.perTokenPair ?? 0) > 0, 'a positive per-token-pair cost');
    assert.deepEqual(problems, []);
  });
});
