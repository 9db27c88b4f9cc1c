// Planning an expert pruning: which experts to drop per MoE layer by a criterion measured on a text, and where the
// pruned model would live on this machine beside the original (the engine's own placement planner, model-file.ts).
//   reap, frequency: one capture pass over the text (perplexity with routing 'reap': REAP scores and routed counts);
//   importance: Δ perplexity with each expert ablated alone (runImportance; one pass per expert, slow);
//   random: a seeded shuffle, the baseline a criterion must beat.
// The lowest-scoring experts go; with expert groups (deepseek2) the same number goes from every group.
// No vscode import.
import path from 'node:path';
import { EngineError } from './errors';
import { runImportance } from './importance';
import { isExpertTensor, planPlacement, type ModelFacts, type PlanInput } from './model-file';
import { formatBytes } from '../format';
import { seededRandom } from '../routing/math';
import { kvNumber, planPrune, type GgufLayout, type MoeShape, type PrunePlan } from './prune';
import type { Engine, PerplexityResult, PlacementReport } from './types';

export const PRUNE_CRITERIA = ['reap', 'frequency', 'importance', 'random'] as const;
export type PruneCriterion = (typeof PRUNE_CRITERIA)[number];

export interface PruneScores {
  criterion: PruneCriterion;
  /** [MoE layer slot][expert]: higher = more worth keeping. */
  scores: number[][];
  /** The original model's perplexity on the text, when the scoring pass measured it. */
  baseline?: PerplexityResult;
}

/** Every criterion but random measures the experts on a text: refused without one (before a model is loaded). */
export function requireText(criterion: PruneCriterion, text: string | undefined): string {
  if (criterion !== 'random' && text === undefined) throw new EngineError('bad-prune', `--by ${criterion} measures the experts on a text: give it with --file`);
  return text ?? '';
}

/** Scores every expert of the loaded model on `text` by the criterion. */
export async function scoreExperts(
  engine: Engine,
  criterion: PruneCriterion,
  request: { text?: string; context?: number; chunks?: number; seed?: number },
  callbacks: { signal?: AbortSignal; onProgress?: (message: string) => void } = {},
): Promise<PruneScores> {
  const routing = engine.model?.routing;
  if (!routing) throw new EngineError('not-moe', 'load a MoE model first: a dense model has no experts to prune');
  if (criterion === 'random') {
    const rng = seededRandom(request.seed ?? 0);
    return { criterion, scores: routing.moeLayers.map(() => Array.from({ length: routing.experts }, () => rng())) };
  }
  const base = { text: requireText(criterion, request.text), context: request.context, chunks: request.chunks };
  if (criterion === 'importance') {
    const r = await runImportance(engine, base, {
      signal: callbacks.signal,
      onProgress: (p) => callbacks.onProgress?.(`[${p.done}/${p.total}] layer ${p.layer} expert ${p.expert}`),
    });
    return { criterion, scores: r.deltaPerplexity };
  }
  const baseline = await engine.perplexity({ ...base, routing: 'reap' }, { signal: callbacks.signal });
  const stats = baseline.routing!;
  return { criterion, scores: criterion === 'reap' ? stats.reap! : stats.counts, baseline };
}

/** Removes the `drop` lowest-scoring experts of every MoE layer (evenly within expert groups) and validates it. */
export function chooseRemoval(shape: MoeShape, scores: number[][], drop: number): PrunePlan {
  const { experts, groups, moeLayers } = shape;
  if (!Number.isInteger(drop) || drop < 1 || drop >= experts)
    throw new EngineError('bad-prune', `experts to drop per layer must be a whole number from 1 to ${experts - 1}, not ${drop}`);
  if (drop % groups !== 0)
    throw new EngineError('bad-prune', `${shape.name} routes through ${groups} expert groups: drop a multiple of ${groups} experts per layer, not ${drop}`);
  const size = experts / groups;
  const removal: Record<string, number[]> = {};
  moeLayers.forEach((layer, slot) => {
    removal[String(layer)] = Array.from({ length: groups }, (_, g) =>
      Array.from({ length: size }, (_, i) => g * size + i)
        .sort((a, b) => scores[slot][a] - scores[slot][b] || a - b)
        .slice(0, drop / groups),
    ).flat();
  });
  return planPrune(shape, removal);
}

/** The placement planner's view of a file's header, pruned by `plan` when given (expert bytes scale with the count). */
export function placementOf(layout: GgufLayout, shape: MoeShape, input: PlanInput, plan?: PrunePlan): PlacementReport {
  const scale = plan ? plan.keepCount / plan.experts : 1;
  const expertBytesByLayer = new Map<number, number>();
  let weightBytes = 0;
  for (const t of layout.tensors) {
    // The expert tensors as the engine's planner counts them (modelFacts), scaled by the experts kept.
    const layer = isExpertTensor(t.name) ? /^blk\.(\d+)\./.exec(t.name)?.[1] : undefined;
    const bytes = layer === undefined ? t.bytes : t.bytes * scale;
    weightBytes += bytes;
    if (layer !== undefined) expertBytesByLayer.set(Number(layer), (expertBytesByLayer.get(Number(layer)) ?? 0) + bytes);
  }
  const layers = kvNumber(layout, `${shape.architecture}.block_count`) ?? 0;
  // planPlacement reads only these facts.
  const facts = { layers, moeLayers: shape.moeLayers, experts: plan?.keepCount ?? shape.experts, expertBytesByLayer, weightBytes } as ModelFacts;
  return planPlacement(facts, input);
}

/** The planner's input that reproduces an engine's placement (its GPU budget stands for free VRAM less the context). */
export function planInputOf(placement: PlacementReport, cpuMoe: PlanInput['cpuMoe']): PlanInput {
  return { backend: placement.backend, gpuLayers: placement.gpuLayers, cpuMoe, freeVram: (placement.gpuBudgetBytes ?? 0) / 0.95, contextVram: 0 };
}

/** "fits in VRAM", "needs the experts of 30 layers in RAM", or the CPU's case, with the bytes. */
export function fitVerdict(p: PlacementReport): string {
  if (p.backend === 'cpu' || p.gpuLayers === 0) return `CPU: all ${formatBytes(p.weights.reduce((n, d) => n + d.bytes, 0))} of weights in system RAM`;
  if (p.cpuMoeLayers === 0) return `fits in VRAM (${formatBytes(p.expertBytesOnGpu)} of experts on the GPU)`;
  return `needs the experts of ${p.cpuMoeLayers} layers in RAM (${formatBytes(p.expertBytesInRam)} in RAM, ${formatBytes(p.expertBytesOnGpu)} on the GPU)`;
}

/** The plan in words, one line each (the CLI prints them, VS Code's modal and the Compare panel show them): "Layer 0: experts 2, 5 go" per MoE layer, then the size and the placement before → after when given. */
export function describePlan(plan: PrunePlan, change?: { sizeBefore: number; sizeAfter: number; fitBefore: string; fitAfter: string }): string[] {
  return [
    ...plan.layers.map((l) => `Layer ${l.layer}: experts ${l.remove.join(', ')} go`),
    ...(change ? [`Size: ${formatBytes(change.sizeBefore)} → ${formatBytes(change.sizeAfter)}`, `Placement: ${change.fitBefore} → ${change.fitAfter}`] : []),
  ];
}

/**
 * Experts already scored elsewhere (the Expert Importance view's maps), passed as the command's argument: the prune
 * flow then skips choosing a criterion and measuring, and starts at the budget (or at the plan when `drop` is given).
 */
export interface ScoredPruneRequest {
  /** [MoE layer slot][expert]: higher = more worth keeping (Δ perplexity, REAP, routing share). */
  scores: number[][];
  /** What the scores are, for the plan's title: "Δ perplexity", "REAP", "routing share". */
  criterion: string;
  /** The text they were measured on, for the plan's title: a file name. */
  source: string;
  /** Experts to drop per layer; asked when absent. */
  drop?: number;
  /** The model file the scores were measured on: refused when the configured model is another file by now. */
  modelPath?: string;
}

/**
 * The Prune Experts command's argument as it came (a webview message, a command link): a ScoredPruneRequest for this
 * model file and shape, or nothing. Anything else is refused in words.
 */
export function parseScoredPruneRequest(arg: unknown, shape: { moeLayers: number[]; experts: number; name: string }, modelPath: string): ScoredPruneRequest | undefined {
  if (arg === undefined || arg === null || typeof arg !== 'object' || !('scores' in arg)) return undefined;
  const r = arg as Partial<ScoredPruneRequest>;
  const fits =
    Array.isArray(r.scores) &&
    r.scores.length === shape.moeLayers.length &&
    r.scores.every((row) => Array.isArray(row) && row.length === shape.experts && row.every((v) => typeof v === 'number' && !Number.isNaN(v)));
  if (!fits) throw new EngineError('bad-prune', `the expert scores given do not match ${shape.name} (${shape.moeLayers.length} MoE layers × ${shape.experts} experts); score it again`);
  if (typeof r.criterion !== 'string' || typeof r.source !== 'string') throw new EngineError('bad-prune', 'the expert scores given do not say what they measure');
  if (r.drop !== undefined && (!Number.isInteger(r.drop) || r.drop < 1)) throw new EngineError('bad-prune', `cannot drop ${String(r.drop)} experts per layer`);
  if (r.modelPath !== undefined && typeof r.modelPath !== 'string') throw new EngineError('bad-prune', 'the expert scores given name no model file');
  if (r.modelPath !== undefined && path.resolve(r.modelPath) !== path.resolve(modelPath))
    throw new EngineError('bad-prune', `the ${r.criterion} map was measured on ${path.basename(r.modelPath)}, but the model is now ${path.basename(modelPath)}: score this model again`);
  return {
    scores: r.scores as number[][],
    criterion: r.criterion,
    source: r.source,
    ...(r.drop !== undefined ? { drop: r.drop } : {}),
    ...(r.modelPath !== undefined ? { modelPath: r.modelPath } : {}),
  };
}
