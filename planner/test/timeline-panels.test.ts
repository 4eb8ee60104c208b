/**
 * plan.svg before and after (issue 14 item 4): two panels on one time axis, each labelled with its pipeline's name and
 * latency; the contiguous panel shows its bubbles (hatched idle bars), hplb's panel fewer; both panels use the same x
 * scale; the text is well-formed XML and deterministic.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeDevices, simulate, type ModelShape } from '@hplb/core';
import { checkWellFormed, displayUnit, renderTimelinePanels } from '@hplb/planner';

const model: ModelShape = { name: 'tiny', layers: 2, queryHeads: 4, kvHeads: 2, headDim: 8 };
const N = 1000;
const budgets = [[900, 800, 100, 50], [1000, 100, 100, 900]];
const layout = (placement: number[][]) => ({ model, contextLength: N, devices: makeDevices(2), placement });
// Contiguous: heads 0,1 on gpu0 and 2,3 on gpu1 (unbalanced); balanced: heavy heads on different GPUs.
const before = simulate(layout([[0, 0, 1, 1], [0, 0, 1, 1]]), budgets);
const after = simulate(layout([[0, 1, 1, 0], [0, 1, 0, 1]]), budgets);
const panels = [
  { label: 'contiguous (engines today)', sim: before },
  { label: 'hplb (split heads)', sim: after },
];
const svg = renderTimelinePanels(panels, { title: 'hplb plan: test', subtitle: 'N = 1000, 2 GPUs', note: 'budgets: published; placement: hplb', synthetic: false });

const rectsIn = (panel: string) => [...panel.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="([^"]+)"/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), fill: m[4]! }));
const panelText = (k: number): string => svg.split('<g class="panel"')[k + 1]!.split('</g>')[0]!;

test('two panels, each labelled with its pipeline name and latency', () => {
  assert.equal(svg.split('<g class="panel"').length - 1, 2);
  const [a, b] = [panelText(0), panelText(1)];
  assert.match(a, /data-label="contiguous \(engines today\)"/);
  assert.match(b, /data-label="hplb \(split heads\)"/);
  // Latency in the panels' display unit, in the heading and in a data attribute.
  const maxSpan = Math.max(...[before, after].flatMap((s) => s.layers.map((l) => l.makespan)));
  const { factor, label } = displayUnit('token-pairs', maxSpan);
  for (const [t, sim] of [[a, before], [b, after]] as const) {
    assert.ok(t.includes(`latency ${(sim.latency * factor).toFixed(2)} ${label}`), `heading of ${t.slice(0, 60)}`);
    assert.ok(Math.abs(Number(/data-latency="([\d.]+)"/.exec(t)![1]) - sim.latency * factor) < 0.01);
  }
  assert.match(b, /\(\d\.\d\dx\)/, 'speed-up against the first panel');
  assert.ok(after.latency < before.latency, 'the test needs a better "after"');
});

test('one time axis: the same load draws the same width in both panels; bubbles are visible', () => {
  const ra = rectsIn(panelText(0)).filter((r) => r.fill !== 'url(#idle)');
  const rb = rectsIn(panelText(1)).filter((r) => r.fill !== 'url(#idle)');
  const scaleA = ra.map((r, i) => r.w / before.layers[Math.floor(i / 2)]!.busy[i % 2]!);
  const scaleB = rb.map((r, i) => r.w / after.layers[Math.floor(i / 2)]!.busy[i % 2]!);
  for (const s of [...scaleA, ...scaleB]) assert.ok(Math.abs(s - scaleA[0]!) / scaleA[0]! < 0.01, `one scale: ${s} vs ${scaleA[0]}`);
  const idleA = rectsIn(panelText(0)).filter((r) => r.fill === 'url(#idle)');
  assert.ok(idleA.length >= 2, 'the contiguous panel shows its bubbles as hatched idle bars');
  const idleWidth = (rs: ReturnType<typeof rectsIn>) => rs.filter((r) => r.fill === 'url(#idle)').reduce((s, r) => s + r.w, 0);
  assert.ok(idleWidth(rectsIn(panelText(1))) < idleWidth(idleA), 'fewer bubbles after');
});

test('well-formed and deterministic', () => {
  const wf = checkWellFormed(svg);
  assert.ok(wf.ok, wf.ok ? '' : `${wf.problem} at ${wf.at}`);
  assert.equal(renderTimelinePanels(panels, { title: 'hplb plan: test', subtitle: 'N = 1000, 2 GPUs', note: 'budgets: published; placement: hplb', synthetic: false }), svg);
});
