/** The simulator: totals equal the sum of their parts, and loads agree with the independent validator's arithmetic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { simulate, simulatePlan, deviceLoads, type Layout } from '../src/simulate.ts';
import { recomputeLoads } from '../src/validate.ts';
import { makeDevices } from '../src/model.ts';
import { DEFAULT_COST_MODELS, WORK_COST_MODEL } from '../src/cost.ts';
import type { Plan } from '../src/plan.ts';

const seed = Number(process.env['FC_SEED'] ?? Date.now() % 1e9);
console.log(`simulate-sums: fast-check seed ${seed} (FC_SEED to replay)`);

const arb = fc.record({
  layers: fc.integer({ min: 1, max: 4 }),
  groups: fc.integer({ min: 1, max: 3 }),
  gsize: fc.integer({ min: 1, max: 4 }),
  g: fc.integer({ min: 1, max: 5 }),
  n: fc.integer({ min: 64, max: 4096 }),
  seconds: fc.boolean(),
  split: fc.boolean(),
  raw: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 64, maxLength: 64 }),
});

test('Σ busy + Σ idle = G · latency; latency = Σ makespans; loads = validator loads (splits and KV copies included)', () => {
  fc.assert(
    fc.property(arb, ({ layers, groups, gsize, g, n, seconds, split, raw }) => {
      const H = groups * gsize;
      const model = { name: 't', layers, queryHeads: H, kvHeads: groups, headDim: 64 };
      const budgets = Array.from({ length: layers }, (_, l) => Array.from({ length: H }, (_, h) => 1 + Math.floor(raw[(l * H + h) % 64]! * (n - 1))));
      const placement = Array.from({ length: layers }, (_, l) => Array.from({ length: H }, (_, h) => Math.floor(raw[(l * 7 + h * 3) % 64]! * g) % g));
      const splits = split && g >= 2 && n >= 2
        ? [{ layer: 0, head: 0, parts: [{ device: placement[0]![0]!, rowStart: 0, rowEnd: Math.floor(n / 2) }, { device: (placement[0]![0]! + 1) % g, rowStart: Math.floor(n / 2), rowEnd: n }] }]
        : [];
      const cm = seconds ? { ...DEFAULT_COST_MODELS['cuda-h100']!, kvProjectionPerToken: 1e-9 } : WORK_COST_MODEL;
      const layout: Layout = { model, contextLength: n, devices: makeDevices(g, [1, 0.5, 2, 1, 0.7].slice(0, g)), placement, splits, costModel: cm };
      const sim = simulate(layout, budgets);
      let lat = 0;
      let busy = 0;
      let idle = 0;
      for (const lt of sim.layers) {
        lat += lt.makespan;
        const b = lt.busy.reduce((a, x) => a + x, 0);
        const i = lt.idle.reduce((a, x) => a + x, 0);
        busy += b;
        idle += i;
        assert.ok(Math.abs(b + i - g * lt.makespan) <= 1e-9 * Math.max(1, g * lt.makespan));
        assert.ok(lt.critical.length >= 1);
        for (const d of lt.critical) assert.ok(lt.busy[d]! >= lt.makespan * (1 - 1e-9));
      }
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
      assert.ok(close(sim.latency, lat) && close(sim.busyTotal, busy) && close(sim.idleTotal, idle));
      assert.ok(close(sim.busyTotal + sim.idleTotal, g * sim.latency));
      assert.ok(close(sim.bubbleFraction + sim.balanceEfficiency, 1));
      const plan = { model, contextLength: n, devices: layout.devices, placement, splits, budgets, costModel: cm } as unknown as Plan;
      const want = recomputeLoads(plan);
      assert.equal(simulatePlan(plan).latency, sim.latency);
      const got = deviceLoads(layout, budgets);
      want.forEach((row, l) => row.forEach((w, d) => assert.ok(close(w, got[l]![d]!), `load[${l}][${d}] ${got[l]![d]} vs validator ${w}`)));
    }),
    { seed, numRuns: 200 },
  );
});
