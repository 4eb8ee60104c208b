/**
 * The `bubble-fill` budget policy (new in hplb): after placement, devices that finish a layer early sit idle. Give their
 * heads extra blocks of budget, highest marginal recovery per unit of added work first, as long as no device's load
 * exceeds the layer's makespan. Recovery rises at zero latency cost: no layer's makespan grows and no budget falls.
 *
 * Works on whole and split heads alike: raising a split head's budget raises the load of every device running one of
 * its parts (each by its rows' share, `partCost`), and all of them must stay within the makespan. KV residency, and so
 * the KV-copy terms and memory, do not depend on budgets. Layers are independent.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { HplbError } from '../errors.ts';
import { WORK_COST_MODEL, headCost, partCost } from '../cost.ts';
import { recoveryAt, recoveryStats } from '../recovery.ts';
import { extraKvCopies, layerLoads, type Layout } from '../simulate.ts';
import type { SplitLike } from '../kv.ts';
import { MaxHeap, blockOf, checkProblem, nextBudget, resultOf, type BudgetProblem, type BudgetResult } from './types.ts';

interface Candidate {
  readonly key: number;
  readonly id: number;
  readonly h: number;
  readonly nb: number;
  /** [device, added load] */
  readonly deltas: ReadonlyArray<readonly [number, number]>;
}

export const bubbleFillPolicy = (p: BudgetProblem, layout: Layout, start: ReadonlyArray<ReadonlyArray<number>>): E.Either<HplbError, BudgetResult> =>
  E.map((pp: BudgetProblem) => {
    const block = blockOf(pp);
    const n = pp.contextLength;
    const cm = layout.costModel ?? WORK_COST_MODEL;
    const devices = layout.devices;
    const extra = extraKvCopies(layout);
    const budgets = start.map((row) => [...row]);
    const before = recoveryStats(pp.curves.map((row, l) => row.map((c, h) => recoveryAt(c, budgets[l]![h]!))));
    let blocksAdded = 0;
    const layerMakespan: number[] = [];
    for (let l = 0; l < budgets.length; l++) {
      const loads = layerLoads(layout, l, budgets[l]!, extra[l]);
      const makespan = loads.reduce((a, b) => Math.max(a, b), 0);
      layerMakespan.push(makespan);
      const split = new Map<number, SplitLike>();
      for (const s of layout.splits ?? []) if (s.layer === l) split.set(s.head, s);
      const heap = new MaxHeap<Candidate>();
      const offer = (h: number) => {
        const b = budgets[l]![h]!;
        if (b >= n) return;
        const nb = nextBudget(b, block, n);
        const c = pp.curves[l]![h]!;
        const dr = recoveryAt(c, nb) - recoveryAt(c, b);
        if (!(dr > 0)) return;
        const s = split.get(h);
        const deltas: Array<readonly [number, number]> = s
          ? s.parts.map((pt) => [pt.device, partCost(cm, nb, n, pt.rowStart, pt.rowEnd, devices[pt.device]!.speed) - partCost(cm, b, n, pt.rowStart, pt.rowEnd, devices[pt.device]!.speed)] as const)
          : [[layout.placement[l]![h]!, headCost(cm, nb, n, devices[layout.placement[l]![h]!]!.speed) - headCost(cm, b, n, devices[layout.placement[l]![h]!]!.speed)] as const];
        const added = deltas.reduce((a, [, x]) => a + x, 0);
        if (!(added > 0)) return;
        heap.push({ key: dr / added, id: h, h, nb, deltas });
      };
      for (let h = 0; h < budgets[l]!.length; h++) offer(h);
      while (heap.size > 0) {
        const c = heap.pop()!;
        // Loads only grow, so a block that does not fit now never will: the head is dropped.
        if (!c.deltas.every(([d, x]) => loads[d]! + x <= makespan)) continue;
        for (const [d, x] of c.deltas) loads[d]! += x;
        budgets[l]![c.h] = c.nb;
        blocksAdded++;
        offer(c.h);
      }
    }
    const r = resultOf('bubble-fill', pp, budgets, {});
    return { ...r, details: { blocksAdded, before, after: { min: r.min, mean: r.mean }, layerMakespan } };
  })(checkProblem(p));
