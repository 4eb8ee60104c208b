/**
 * The README's screenshot of the page: build the site, plan the built-in default (`?run=default`) in headless
 * Chromium, and save the top of the page (controls, comparison table, the start of the timeline) as a PNG.
 *
 *   npx tsx web/scripts/screenshot.ts [--out docs/web-planner.png]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSite, WEB_DIR } from './build.ts';
import { waitForState, withPage } from '../test/browser.ts';

const i = process.argv.indexOf('--out');
const out = resolve(i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : join(WEB_DIR, '..', 'docs', 'web-planner.png'));
const site = mkdtempSync(join(tmpdir(), 'hplb-web-shot-'));
try {
  await buildSite(join(site, 'dist'));
  await withPage(join(site, 'dist'), { viewport: { width: 1280, height: 900 } }, async ({ page, server }) => {
    await page.goto(`${server.url}?run=default`);
    const state = await waitForState(page, ['done', 'error'], 600_000);
    if (state !== 'done') throw new Error(`the default plan failed: ${await page.textContent('#error')}`);
    const tmp = `${out}.tmp-${process.pid}`;
    await page.screenshot({ path: tmp, type: 'png', fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1400 } });
    const { renameSync } = await import('node:fs');
    renameSync(tmp, out);
  });
  console.log(`web: screenshot written to ${out}`);
} finally {
  rmSync(site, { recursive: true, force: true });
}
