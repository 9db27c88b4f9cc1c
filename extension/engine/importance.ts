// Expert importance: for every (MoE layer, expert), the change in perplexity when that expert alone is ablated,
// beside the REAP score (mean over the tokens routed to it of gate weight × ||expert output||) of the baseline
// run, so the cheap score can be compared with the real effect.
//
// Cost: one baseline pass over the chunks (with routing and expert-output norms), then at most one pass per
// (layer, expert) — and less where the result provably cannot change: for a router that renormalises its top-k
// weights over the chosen experts (Mixtral-style `llama`: softmax then ffn_moe_weights_norm), removing an expert
// that no token of a chunk chose in that layer leaves that chunk's choices and weights, hence its log-likelihoods,
// unchanged (mathematically; float rounding of the softmax sum aside), so that chunk is reused from the baseline.
// Routers without renormalisation (qwen2moe's raw softmax weights) see every expert in the softmax sum: every
// chunk is evaluated. The engine tokenizes the text once (it keeps the last perplexity text's tokens).
// Pure over the Engine interface: no vscode import.
import { EngineError } from './errors';
import { NllSum } from './perplexity';
import type { Engine, ModelInfo, PerplexityResult } from './types';

export interface ImportanceRequest {
  text: string;
  /** Model block numbers to score (default every MoE layer). */
  layers?: number[];
  context?: number;
  chunks?: number;
}

export interface ImportanceProgress {
  /** (layer, expert) pairs done and in all. */
  done: number;
  total: number;
  layer: number;
  expert: number;
}

export interface ImportanceResult {
  model: string;
  baseline: { perplexity: number; stderr: number; tokens: number; chunks: number; context: number };
  layers: number[];
  experts: number;
  /** [layer index in `layers`][expert]: perplexity with that expert ablated alone, and minus the baseline. */
  perplexity: number[][];
  deltaPerplexity: number[][];
  /** [layer][expert]: REAP score and selection share (fraction of routed slots) in the baseline. */
  reap: number[][];
  share: number[][];
  /** Chunk evaluations run, and those reused from the baseline because they provably could not change. */
  evaluations: number;
  reused: number;
  ms: number;
}

/** Routers whose top-k weights are renormalised over the chosen experts (see the header). */
export function renormalisesTopK(model: Pick<ModelInfo, 'architecture'>): boolean {
  return model.architecture === 'llama';
}

export async function runImportance(
  engine: Engine,
  request: ImportanceRequest,
  callbacks: { onProgress?: (p: ImportanceProgress) => void; signal?: AbortSignal } = {},
): Promise<ImportanceResult> {
  const model = engine.model;
  if (!model) throw new EngineError('no-model', 'no model is loaded');
  if (!model.routing) throw new EngineError('not-moe', `${model.name} is a dense model (no experts): there is no expert importance to measure`);
  const { moeLayers, experts } = model.routing;
  const layers = request.layers ?? moeLayers;
  for (const layer of layers)
    if (!moeLayers.includes(layer))
      throw new EngineError('bad-intervention', `layer ${layer} is not a MoE layer of ${model.name} (MoE layers: ${moeLayers.join(', ')})`);
  const start = performance.now();
  const base = { text: request.text, context: request.context, chunks: request.chunks };
  const baseline = await engine.perplexity({ ...base, routing: 'reap' }, { signal: callbacks.signal });
  const routing = baseline.routing!;
  const skip = renormalisesTopK(model);
  const total = layers.length * experts;
  const perplexity: number[][] = [];
  let evaluations = baseline.perChunk.length;
  let reused = 0;
  let done = 0;
  for (const layer of layers) {
    const slot = moeLayers.indexOf(layer);
    const row: number[] = [];
    for (let expert = 0; expert < experts; expert++) {
      const affected = skip ? baseline.perChunk.filter((c) => c.usedExperts![slot].includes(expert)).map((c) => c.index) : undefined;
      let ablated: PerplexityResult | undefined;
      if (!affected || affected.length > 0)
        // Without routing: capture makes every row an output and adds a sync per layer (~1.7× the time on the demo),
        // and it does not change the log-probabilities (bit-identical on CPU, checked), so the baseline's serve.
        ablated = await engine.perplexity(
          { ...base, intervention: { ablate: { [String(layer)]: [expert] } }, onlyChunks: affected },
          { signal: callbacks.signal },
        );
      row.push(combine(baseline, ablated));
      evaluations += ablated?.perChunk.length ?? 0;
      reused += baseline.perChunk.length - (ablated?.perChunk.length ?? 0);
      callbacks.onProgress?.({ done: ++done, total, layer, expert });
    }
    perplexity.push(row);
  }
  const slots = layers.map((layer) => moeLayers.indexOf(layer));
  const routed = (slot: number) => routing.counts[slot].reduce((a, b) => a + b, 0);
  return {
    model: model.name,
    baseline: { perplexity: baseline.perplexity, stderr: baseline.stderr, tokens: baseline.tokens, chunks: baseline.chunks, context: baseline.context },
    layers,
    experts,
    perplexity,
    deltaPerplexity: perplexity.map((row) => row.map((p) => p - baseline.perplexity)),
    reap: slots.map((slot) => routing.reap![slot]),
    share: slots.map((slot) => routing.counts[slot].map((n) => n / Math.max(1, routed(slot)))),
    evaluations,
    reused,
    ms: performance.now() - start,
  };
}

/** Perplexity over all chunks: the evaluated ones from `ablated`, the rest from the baseline. */
function combine(baseline: PerplexityResult, ablated: PerplexityResult | undefined): number {
  const sum = new NllSum();
  const replaced = new Map((ablated?.perChunk ?? []).map((c) => [c.index, c]));
  for (const chunk of baseline.perChunk) {
    const c = replaced.get(chunk.index) ?? chunk;
    sum.addSums(c.nll, c.nll2, c.scored);
  }
  return sum.perplexity;
}
