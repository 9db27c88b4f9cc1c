// "Prune by this map" in the Expert Importance view: for each map the view shows (Δ perplexity, REAP, routing share)
// and each budget (engine/prune-budget.ts), which experts would go, the new file size and where the pruned model would
// live on this machine: the Prune Experts command's own planning (engine/prune-plan.ts, engine/prune.ts), read only.
// The page's choice comes back as an untrusted message, checked here against what was offered. No vscode import.
import type { ImportanceResult } from '../engine/importance';
import type { PlanInput } from '../engine/model-file';
import { moeShape, prunedSize, readGgufLayout, type GgufLayout } from '../engine/prune';
import { pruneBudgets, type PruneBudget } from '../engine/prune-budget';
import { chooseRemoval, fitVerdict, placementOf, planInputOf } from '../engine/prune-plan';
import type { ModelInfo } from '../engine/types';
import { describeError } from '../messages';

/** The maps a pruning can follow, by the name the plan's title gives them. Higher = keep, for each. */
export const PRUNE_BY = { delta: 'Δ perplexity', reap: 'REAP', share: 'routing share' } as const;
export type PruneBy = keyof typeof PRUNE_BY;
export const PRUNE_BY_IDS = Object.keys(PRUNE_BY) as PruneBy[];

/** [MoE layer slot][expert], higher = more worth keeping: Δ perplexity as is (worse without it = keep). */
export function scoresBy(r: ImportanceResult, by: PruneBy): number[][] {
  return by === 'delta' ? r.deltaPerplexity : by === 'reap' ? r.reap : r.share;
}

/** One choice of map and budget: the experts that go per layer slot (ids as the maps show them), size and fit after. */
export interface PruneChoice {
  by: PruneBy;
  drop: number;
  remove: number[][];
  size: number;
  fit: string;
  /** By Δ perplexity: how many of the experts that go are within noise. */
  withinNoise?: number;
}

export type ImportancePrune =
  | { unavailable: string }
  | { model: string; experts: number; size: number; fit: string; budgets: PruneBudget[]; choices: PruneChoice[] };

/**
 * Every map × budget plan for the model file the maps were measured on. `placement`: the planner input that
 * reproduces the loaded model's placement (planInputOf), for the fit before and after.
 */
export function planImportancePrune(r: ImportanceResult, layout: GgufLayout, placement: PlanInput): ImportancePrune {
  try {
    const shape = moeShape(layout);
    if (shape.experts !== r.experts || shape.moeLayers.join() !== r.layers.join())
      return { unavailable: `${shape.name} (${shape.moeLayers.length} MoE layers × ${shape.experts} experts) is not the model these maps were measured on: run Expert Importance again` };
    const budgets = pruneBudgets(shape);
    if (!budgets.length) return { unavailable: `${shape.name} has ${shape.experts} experts per layer and uses ${shape.expertsPerToken}: none can go` };
    const choices = PRUNE_BY_IDS.flatMap((by) =>
      budgets.map(({ drop }): PruneChoice => {
        const plan = chooseRemoval(shape, scoresBy(r, by), drop);
        const remove = plan.layers.map((l) => l.remove);
        return {
          by,
          drop,
          remove,
          size: prunedSize(layout, plan),
          fit: fitVerdict(placementOf(layout, shape, placement, plan)),
          ...(by === 'delta' ? { withinNoise: remove.reduce((n, experts, slot) => n + experts.filter((e) => !r.significant[slot][e]).length, 0) } : {}),
        };
      }),
    );
    return { model: shape.name, experts: shape.experts, size: layout.fileSize, fit: fitVerdict(placementOf(layout, shape, placement)), budgets, choices };
  } catch (error) {
    return { unavailable: describeError(error) };
  }
}

/** The section for the model the maps were measured on: its plans when it is a local GGUF file, else why not. */
export async function importancePrune(info: ModelInfo, r: ImportanceResult): Promise<ImportancePrune> {
  if (info.remote || !info.placement) return { unavailable: `it writes a new GGUF file, so it needs a local model file; ${info.name} is served by a server` };
  try {
    return planImportancePrune(r, await readGgufLayout(info.path), planInputOf(info.placement, 'auto'));
  } catch (error) {
    return { unavailable: describeError(error) };
  }
}

/** The page's "prune" message, if it names a map and a budget that were offered. */
export function parsePruneChoice(message: unknown, prune: ImportancePrune | undefined): { by: PruneBy; drop: number } | undefined {
  if (!prune || 'unavailable' in prune || !message || typeof message !== 'object') return undefined;
  const { by, drop } = message as { by?: unknown; drop?: unknown };
  if (typeof by !== 'string' || !Object.hasOwn(PRUNE_BY, by) || !prune.budgets.some((b) => b.drop === drop)) return undefined;
  return { by: by as PruneBy, drop: drop as number };
}
