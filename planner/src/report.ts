/**
 * The chart of a planned run: the per-layer GPU timeline of `hplb plan` (plan.svg), titled with the pipeline and
 * subtitled with the profile, context, devices, policy and solver; and a latency in the display unit.
 */
import { renderTimeline } from './svg/timeline.ts';
import { displayUnit } from './svg/xml.ts';
import type { PipelineRun, PlanContext } from './pipelines.ts';
import type { LoadedProfile } from './profiles.ts';

/** A latency in its display unit, e.g. `314.173 10⁹ token pairs` (the unit chosen for `ref`). */
export const latencyText = (v: number, unit: 'token-pairs' | 'seconds', ref = v): string => {
  const { factor, label } = displayUnit(unit, ref);
  return `${(v * factor).toFixed(3)} ${label}`;
};

/** plan.svg of a run: what `hplb plan` writes next to plan.json. */
export const planTimelineSvg = (run: Pick<PipelineRun, 'spec' | 'plan' | 'sim' | 'recovery'>, settings: Pick<PlanContext, 'devices' | 'contextLength'>, profile: Pick<LoadedProfile, 'short' | 'synthetic'>): string => {
  const d = settings.devices.length;
  const rec = run.recovery ? ` · recovery min ${run.recovery.min.toFixed(4)}, mean ${run.recovery.mean.toFixed(4)}` : '';
  return renderTimeline(run.sim, {
    title: `hplb plan: ${run.spec.name}`,
    subtitle: `${profile.short} · N = ${settings.contextLength} · ${d} GPU${d === 1 ? '' : 's'} · policy ${run.spec.policy} · solver ${run.plan.solver.name}`,
    summary: `latency ${latencyText(run.sim.latency, run.sim.unit)} · balance efficiency ${run.sim.balanceEfficiency.toFixed(4)} · bubble ${(run.sim.bubbleFraction * 100).toFixed(2)}%${rec}`,
    synthetic: profile.synthetic,
  });
};
