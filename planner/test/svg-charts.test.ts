/**
 * The charts: plan.svg and pareto.svg are well-formed XML with one busy bar per layer × GPU, critical GPUs marked, a
 * legend and axis units; the well-formedness check itself rejects broken XML; and one rendering in headless Chromium
 * produces a non-blank picture (skipped, with the reason, when Chromium is not installed: scripts/setup-system.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulate } from '@hplb/core';
import { makeDevices } from '@hplb/core';
import { renderTimeline } from '@hplb/planner';
import { renderPareto, skyline } from '@hplb/planner';
import { checkWellFormed } from '@hplb/planner';
import { pictureStats } from '@hplb/spec';

const L = 5;
const G = 3;
const H = 6;
const n = 4096;
const model = { name: 't', layers: L, queryHeads: H, kvHeads: 2, headDim: 64 };
const budgets = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => 64 * (1 + ((l * 5 + h * 3) % 17))));
const placement = Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => (h + l) % G));
const sim = simulate({ model, contextLength: n, devices: makeDevices(G), placement }, budgets);
const svg = renderTimeline(sim, { title: 'hplb plan: test', subtitle: 'sub & <title>', summary: 'latency', synthetic: true });

test('plan.svg parses as XML and has layers × GPUs bars, critical GPUs marked, legend and units', () => {
  const wf = checkWellFormed(svg);
  assert.ok(wf.ok, wf.ok ? '' : `${wf.problem} at ${wf.at}: ${svg.slice(Math.max(0, wf.at - 40), wf.at + 40)}`);
  const rects = wf.elements.filter((e) => e.name === 'rect');
  const busy = rects.filter((r) => r.attrs['fill'] === '#3b7dd8' || r.attrs['fill'] === '#e0662b').filter((r) => Number(r.attrs['height']) < 11);
  assert.equal(busy.length, L * G, 'one busy bar per layer × GPU');
  const critical = sim.layers.reduce((a, lt) => a + lt.critical.length, 0);
  assert.equal(wf.elements.filter((e) => e.name === 'path' && e.attrs['fill'] === '#e0662b').length, critical, 'one marker per critical GPU');
  assert.match(svg, /time within the layer \(/);
  assert.match(svg, /busy \(computing\)/);
  assert.match(svg, /idle \(bubble\)/);
  assert.match(svg, /SYNTHETIC/);
  assert.match(svg, /sub &amp; &lt;title&gt;/);
});

test('renders are deterministic', () => {
  assert.equal(renderTimeline(sim, { title: 'hplb plan: test', subtitle: 'sub & <title>', summary: 'latency', synthetic: true }), svg);
});

test('the well-formedness check rejects broken XML', () => {
  for (const bad of ['<a><b></a></b>', '<a x=1/>', '<a x="1" x="2"/>', '<a>&nope;</a>', '<a/><b/>', '<a>', 'text<a/>', '<a x="<"/>']) {
    assert.equal(checkWellFormed(bad).ok, false, bad);
  }
  assert.equal(checkWellFormed('<?xml version="1.0"?>\n<a x="1"><b/>t &amp; u<!-- c --></a>\n').ok, true);
});

test('pareto.svg parses, has one polyline per pipeline per panel, and marks the skyline', () => {
  const series = [
    { name: 'A', points: [{ density: 0.1, latency: 10, min: 0.5, mean: 0.8 }, { density: 0.2, latency: 20, min: 0.7, mean: 0.9 }] },
    { name: 'B', points: [{ density: 0.1, latency: 12, min: 0.6, mean: 0.7 }, { density: 0.2, latency: 18, min: 0.8, mean: 0.85 }] },
  ];
  const p = renderPareto(series, { title: 't', subtitle: 's', unit: 'seconds', synthetic: false });
  const wf = checkWellFormed(p);
  assert.ok(wf.ok, wf.ok ? '' : wf.problem);
  assert.equal(wf.elements.filter((e) => e.name === 'polyline').length, 4);
  assert.match(p, /attention latency \(s\)|attention latency \(ms\)/);
  // Skyline on min: (10, .5), (12, .6), (18, .8) — (20, .7) is beaten by (18, .8).
  assert.deepEqual(skyline([{ latency: 10, r: 0.5 }, { latency: 20, r: 0.7 }, { latency: 12, r: 0.6 }, { latency: 18, r: 0.8 }]), [0, 2, 3]);
});

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

test('plan.svg renders in headless Chromium to a non-blank picture', { skip: chromium ? false : 'chromium is not installed (scripts/setup-system.sh installs it)', timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-svg-'));
  try {
    const file = join(dir, 'plan.svg');
    writeFileSync(file, svg);
    const png = join(dir, 'plan.png');
    const profile = mkdtempSync(join(tmpdir(), 'hplb-chromium-'));
    const r = spawnSync(chromium!, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', `--user-data-dir=${profile}`, `--screenshot=${png}`, '--window-size=1014,600', `file://${file}`,
    ], { timeout: 90_000, encoding: 'utf8' });
    rmSync(profile, { recursive: true, force: true });
    assert.ok(existsSync(png), `no screenshot: exit ${r.status}, ${r.stderr?.slice(-400)}`);
    const info = pictureStats(readFileSync(png));
    assert.equal(info.width, 1014);
    assert.ok(info.colours > 8, `the picture looks blank (${info.colours} distinct colours)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
