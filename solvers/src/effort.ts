/**
 * Deterministic effort budgets for the anytime solvers (`SolveOptions.effort`). One unit is one elementary search
 * step: a branch-and-bound node, a bin-completion node, eight count-vector states of the class DP (a state is a few
 * additions, ~40 ns; exact.ts `DP_STATES_PER_UNIT`), a candidate move or swap evaluated by local search, a subset sum
 * enumerated by a pairwise re-split. A step that costs more than what is left is not started (a DP probe, a re-split),
 * so a share is never overspent by much. Every phase of `auto` / `exact` / `local`
 * spends from one budget (phases get shares of it, never shares of the clock), so with `effort` set the result depends
 * only on the instance, the seed and the effort. The wall-clock deadline stays as a hard safety net: a phase cut by
 * the clock sets `clockHit`, and the registry then reports the layer as `timedout`.
 * Used by registry.ts, local.ts, exact.ts and branch.ts.
 */

/** How many spends pass between two clock reads (reading the clock is slower than a cheap node). */
const CLOCK_EVERY = 256;

export class Effort {
  /** Units left in this budget. */
  private left: number;
  private sinceClock = 0;
  /** The wall clock stopped this budget (or a child) before its units ran out. */
  clockHit = false;

  /** Units this budget started with. */
  readonly initial: number;

  constructor(units: number, readonly deadline: number, private readonly parent?: Effort) {
    this.left = Math.max(0, Math.floor(units));
    this.initial = this.left;
  }

  /** Units left. */
  get remaining(): number {
    return this.left;
  }

  /** True while units are left and the clock has not passed the deadline. */
  ok(): boolean {
    if (this.left <= 0 || this.clockHit) return false;
    if (performance.now() > this.deadline) {
      this.hitClock();
      return false;
    }
    return true;
  }

  /** Spend `units`; false once the budget is spent or the clock passed the deadline (the clock is read now and then). */
  spend(units = 1): boolean {
    this.left -= units;
    this.parent?.take(units);
    if (this.left <= 0 || this.clockHit) return false;
    this.sinceClock += units;
    if (this.sinceClock >= CLOCK_EVERY) {
      this.sinceClock = 0;
      if (performance.now() > this.deadline) {
        this.hitClock();
        return false;
      }
    }
    return true;
  }

  /**
   * Read the clock only (units are not looked at): past the deadline, the clock stops this budget and its parents
   * (`clockHit`) and the answer is true. For loops inside one charged step, which must stop on the clock but never
   * on units (so that, within the time limit, nothing changes).
   */
  pastDeadline(): boolean {
    if (this.clockHit) return true;
    if (!(performance.now() > this.deadline)) return false;
    this.hitClock();
    return true;
  }

  /** The clock stopped this budget (a `Deadline` the solve polls passed): `clockHit` here and in every parent. */
  stopByClock(): void {
    this.hitClock();
  }

  /** A sub-budget of at most `units` (floored at 0); what it spends is spent here too, and a clock stop propagates. */
  child(units: number): Effort {
    return new Effort(Math.min(this.left, Math.max(0, units)), this.deadline, this);
  }

  /** A sub-budget of a share of what is left. */
  share(fraction: number): Effort {
    return this.child(Math.floor(this.left * fraction));
  }

  private take(units: number): void {
    this.left -= units;
    this.parent?.take(units);
  }

  private hitClock(): void {
    this.clockHit = true;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let p: Effort | undefined = this.parent;
    while (p) {
      p.clockHit = true;
      p = p.parent;
    }
  }
}
