/**
 * Whole-head proofs on real layers: every layer of every shared MInference profile (and every DuoAttention profile
 * at sparsity 0.5) at N = 131072 on 2, 4 and 8 GPUs, solved by `auto` with the deterministic effort of `hplb plan`
 * (10^6 steps), must come back `optimal`, name its proof, and every such claim is re-checked here by an independent
 * exact method: the next integer capacity below the makespan is shown infeasible by a counting certificate (mean,
 * pigeonhole) or by a memoised bin-completion search, both written in this file (no code shared with src/). A false proof fails the suite. Also: an ILP solver without an
 * engine is `unavailable`, never `infeasible`. Skips with a message when ../shared/data is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import { WORK_COST_MODEL, budgetsAt, formatError, headCost, importProfile, makeDevices, type Profile } from '@hplb/core';
import { layerProblemOf, solveLayer, solveLayerSync, type LayerProblem } from '../src/index.ts';

const N = 131072;
const EFFORT = 1_000_000;

const dataDir = (): string | undefined => {
  const env = process.env['HPLB_SHARED_DATA'];
  const here = dirname(fileURLToPath(import.meta.url));
  return [env, join(here, '..', '..', '..', 'shared', 'data')].find((d): d is string => !!d && existsSync(join(d, 'minference')));
};

const profiles = (dir: string): Array<{ name: string; profile: Profile }> => {
  const out: Array<{ name: string; profile: Profile }> = [];
  const mi = join(dir, 'minference');
  for (const f of readdirSync(mi).filter((x) => x.endsWith('.json')).sort()) {
    const p = importProfile('minference', readFileSync(join(mi, f), 'utf8'), { file: join(mi, f) });
    if (E.isLeft(p)) assert.fail(`${f}: ${formatError(p.left)}`);
    out.push({ name: `minference/${f}`, profile: p.right });
  }
  const duo = join(dir, 'duo');
  if (existsSync(duo)) for (const m of readdirSync(duo).sort()) {
    const f = join(duo, m, 'full_attention_heads.tsv');
    if (!existsSync(f)) continue;
    const p = importProfile('duo', readFileSync(f, 'utf8'), { file: join(duo, m), sparsity: 0.5 });
    if (E.isLeft(p)) assert.fail(`${m}: ${formatError(p.left)}`);
    out.push({ name: `duo/${m}`, profile: p.right });
  }
  return out;
};

// ---------------------------------------------------------------- independent check (no src/ code)

/**
 * Do integer items (as value → count) fit in k bins of capacity C? Bins are filled one at a time, each holding the
 * largest remaining item; a bin's waste may not exceed what the total slack k·C − Σ leaves; failed (counts, bins
 * left) states are remembered. Returns undefined when `maxNodes` runs out (undecided).
 */
const fits = (vals: number[], counts: number[], k: number, C: number, maxNodes: number): boolean | undefined => {
  const T = vals.length;
  const total = vals.reduce((a, v, t) => a + v * counts[t]!, 0);
  if (total > k * C) return false;
  if (vals.some((v, t) => counts[t]! > 0 && v > C)) return false;
  const left = [...counts];
  const failed = new Set<string>();
  let nodes = 0;
  let undecided = false;
  const bins = (binsLeft: number, slack: number): boolean => {
    if (left.every((c) => c === 0)) return true;
    if (binsLeft === 0) return false;
    const key = `${binsLeft}|${left.join(',')}`;
    if (failed.has(key)) return false;
    const first = left.findIndex((c) => c > 0);
    left[first]!--;
    const rest = (t: number, load: number): boolean => {
      if (++nodes > maxNodes) { undecided = true; return false; }
      if (t === T) {
        const waste = C - load;
        if (waste > slack) return false;
        return bins(binsLeft - 1, slack - waste);
      }
      const most = Math.min(left[t]!, Math.floor((C - load) / vals[t]!));
      for (let x = most; x >= 0; x--) {
        left[t]! -= x;
        const ok = rest(t + 1, load + x * vals[t]!);
        left[t]! += x;
        if (ok) return true;
        if (undecided) return false;
      }
      return false;
    };
    const ok = rest(first, vals[first]!);
    left[first]!++;
    if (!ok && !undecided) failed.add(key);
    return ok;
  };
  const r = bins(k, k * C - total);
  return undecided ? undefined : r;
};

/** Re-check an "optimal" claim: a valid placement with that makespan, and nothing below it fits. */
const recheck = (p: LayerProblem, assignment: ReadonlyArray<number>, makespan: number): string | true => {
  const G = p.speeds.length;
  const loads = Array<number>(G).fill(0);
  assignment.forEach((d, i) => { loads[d]! += p.costs[i]!; });
  if (assignment.length !== p.costs.length || assignment.some((d) => !(Number.isInteger(d) && d >= 0 && d < G))) return 'not one device per head';
  const mk = Math.max(...loads);
  if (mk !== makespan) return `makespan ${makespan} but the placement's is ${mk}`;
  if (!p.costs.every((c) => Number.isInteger(c))) return 'costs are not integers';
  // Certificates first (each a direct counting argument, checked here from scratch): the mean, and pigeonhole (of
  // the k·G + 1 largest heads some device holds k + 1).
  const desc = [...p.costs].sort((x, y) => y - x);
  if (desc.reduce((x, y) => x + y, 0) > G * (mk - 1)) return true;
  for (let k = 1; k * G + 1 <= desc.length; k++) {
    let s = 0;
    for (let i = k * G - k; i <= k * G; i++) s += desc[i]!;
    if (s > mk - 1) return true;
  }
  const byVal = new Map<number, number>();
  for (const c of p.costs) byVal.set(c, (byVal.get(c) ?? 0) + 1);
  const vals = [...byVal.keys()].sort((a, b) => b - a);
  const f = fits(vals, vals.map((v) => byVal.get(v)!), G, mk - 1, 2_000_000);
  if (f === undefined) return `the independent check could not decide capacity ${mk - 1}`;
  return f ? `a placement with makespan ≤ ${mk - 1} exists: ${mk} is not optimal` : true;
};

test('independent check: it finds a better placement when one exists, and refutes a too-low capacity', () => {
  // 4 × 5 + 4 × 3 on 2 devices: 16 is optimal (5+5+3+3), 17 is not.
  const p: LayerProblem = { layer: 0, costs: [5, 5, 5, 5, 3, 3, 3, 3], speeds: [1, 1] };
  assert.equal(recheck(p, [0, 0, 1, 1, 0, 0, 1, 1], 16), true);
  assert.match(String(recheck(p, [0, 0, 0, 1, 1, 1, 1, 1], 17)), /not optimal/);
  assert.match(String(recheck(p, [0, 0, 1, 1, 0, 0, 1, 1], 15)), /makespan 15/);
});

const dir = dataDir();

test('every whole-head layer of the shared profiles at HP 2/4/8 is proven optimal, and every proof re-checks', { skip: dir ? false : 'real data not found: expected ../shared/data next to the repository (or set HPLB_SHARED_DATA)' }, () => {
  const failures: string[] = [];
  const proofs = new Map<string, number>();
  let layers = 0;
  for (const { name, profile } of profiles(dir!)) {
    const b = budgetsAt(profile, N);
    if (E.isLeft(b)) assert.fail(`${name}: ${formatError(b.left)}`);
    for (const G of [2, 4, 8]) {
      const src = { model: profile.model, contextLength: N, budgets: b.right, devices: makeDevices(G), constraints: { equalHeadsPerDevice: false, kv: 'replicate' as const }, costModel: WORK_COST_MODEL };
      for (let l = 0; l < profile.model.layers; l++) {
        const p = layerProblemOf(src, l);
        // The clock is only a safety net: the effort decides (a loaded machine cannot flip the result).
        const r = solveLayerSync(p, 'auto', { timeLimitMs: 60_000, effort: EFFORT, seed: 1 + l });
        layers++;
        const where = `${name} HP${G} layer ${l}`;
        if (r.status === 'infeasible') { failures.push(`${where}: infeasible (${r.message})`); continue; }
        if (r.status !== 'optimal') { failures.push(`${where}: ${r.status}, gap ${r.gap}`); continue; }
        if (r.proof === undefined) failures.push(`${where}: optimal without a proof`);
        if (r.gap !== 0 || r.lowerBound !== r.makespan) failures.push(`${where}: optimal with gap ${r.gap}, bound ${r.lowerBound} vs ${r.makespan}`);
        proofs.set(r.proof ?? '?', (proofs.get(r.proof ?? '?') ?? 0) + 1);
        const v = recheck(p, r.assignment, r.makespan);
        if (v !== true) failures.push(`${where}: FALSE PROOF (${r.proof}): ${v}`);
      }
    }
  }
  console.log(`${layers} layers; proofs: ${[...proofs].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  assert.deepEqual(failures, []);
});

test('layers of the same kind as the shared ones (28 query heads, 5-8 real budget classes) on 2/4/8 GPUs are proven too', { skip: dir ? false : 'real data not found: expected ../shared/data next to the repository (or set HPLB_SHARED_DATA)' }, () => {
  // The budget classes that occur in the shared MInference profiles at N, drawn into random 28-head layers (seeded).
  const classes = new Set<number>();
  for (const { name, profile } of profiles(dir!)) {
    if (!name.startsWith('minference/')) continue;
    const b = budgetsAt(profile, N);
    if (E.isRight(b)) for (const row of b.right) for (const x of row) classes.add(x);
  }
  const pool = [...classes].sort((x, y) => x - y);
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
  const failures: string[] = [];
  for (let k = 0; k < 300; k++) {
    const T = 5 + Math.floor(rand() * 4);
    const chosen = [...pool].sort(() => rand() - 0.5).slice(0, T);
    const budgets = Array.from({ length: 28 }, (_, h) => chosen[h < T ? h : Math.floor(rand() * T)]!);
    const G = [2, 4, 8][k % 3]!;
    const p: LayerProblem = { layer: k, costs: budgets.map((b) => headCost(WORK_COST_MODEL, b, N, 1)), speeds: Array<number>(G).fill(1) };
    const r = solveLayerSync(p, 'auto', { timeLimitMs: 60_000, effort: EFFORT, seed: 1 + k });
    if (r.status !== 'optimal') { failures.push(`case ${k} (G=${G}, ${T} classes): ${r.status}${r.status === 'infeasible' ? '' : `, gap ${r.gap}`}`); continue; }
    const v = recheck(p, r.assignment, r.makespan);
    if (v !== true) failures.push(`case ${k}: FALSE PROOF (${r.proof}): ${v}`);
  }
  assert.deepEqual(failures, []);
});

test('an ILP solver with no engine in the runtime is unavailable, not infeasible', async () => {
  const r = await solveLayer({ layer: 0, costs: [3, 2, 2, 1], speeds: [1, 1] }, 'ilp-highs', { timeLimitMs: 1000 });
  assert.equal(r.status, 'unavailable');
  if (r.status === 'unavailable') assert.equal(r.engine, 'highs');
});
