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
//
// Noise: each Δ comes with a 95% interval from the chunk-to-chunk spread. The comparison is paired (the same chunk
// with and without the expert), so per chunk d = Δ mean NLL (ablated − baseline, per scored token); the interval of
// their mean is mean ± t(0.975, n−1)·sd/√n (Student t over the n chunks), mapped to perplexity by
// Δppl = baseline·(exp(d) − 1), which is monotone, so it contains 0 exactly when the NLL interval does. Every chunk
// scores the same number of tokens, so the mean of d is the whole run's Δ NLL and the interval brackets `deltaPerplexity`.
// Pure over the Engine interface: no vscode import.
import { formatNoun } from '../format';
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
  /**
   * [layer][expert]: the 95% interval of Δ perplexity over the chunks (see the header; NaN with one chunk, null in
   * JSON), and whether it excludes 0, i.e. the change is beyond the chunk-to-chunk noise.
   */
  deltaLow: number[][];
  deltaHigh: number[][];
  significant: boolean[][];
  noise: ImportanceNoise;
  /** Chunk evaluations run, and those reused from the baseline because they provably could not change. */
  evaluations: number;
  reused: number;
  ms: number;
}

export interface ImportanceNoise {
  /** Confidence level of the intervals, their method, and the chunks they come from. */
  level: number;
  method: string;
  chunks: number;
  /** Changes whose interval contains 0, of `cells` (layers × experts). */
  withinNoise: number;
  cells: number;
  /** True when there are few chunks or most changes are within noise: more chunks would narrow the intervals. */
  moreChunks: boolean;
  /** A chunk count to try next, and the most chunks the text holds at this context. */
  suggestedChunks: number;
  maxChunks: number;
}

/** Fewer chunks than this, or most changes within noise, earn a hint to use more. */
export const FEW_CHUNKS = 8;

/** Two-sided 95% Student t critical values for 1…30 degrees of freedom. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t(0.975, df): the table to 30, then the Cornish–Fisher expansion around z (within 1e-4 there). NaN below 1. */
export function tCritical95(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= T95.length) return T95[Math.floor(df) - 1];
  const z = 1.959964;
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3);
}

/** Mean of paired differences and its 95% t-interval (mean ± t·sd/√n); NaN bounds with fewer than two. */
export function pairedInterval(differences: number[]): { mean: number; low: number; high: number; n: number } {
  const n = differences.length;
  const mean = n ? differences.reduce((a, b) => a + b, 0) / n : NaN;
  if (n < 2) return { mean, low: NaN, high: NaN, n };
  const sd = Math.sqrt(differences.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1));
  const half = (tCritical95(n - 1) * sd) / Math.sqrt(n);
  return { mean, low: mean - half, high: mean + half, n };
}

/** Why an importance result earns the hint to use more chunks ("only 2 chunks; 40 of 48 changes are within noise"). */
export function noiseReason(noise: ImportanceNoise): string {
  const parts = [
    ...(noise.chunks < FEW_CHUNKS ? [`only ${formatNoun(noise.chunks, 'chunk')}`] : []),
    `${noise.withinNoise} of ${noise.cells} changes are within noise (their 95% interval contains 0)`,
  ];
  return parts.join('; ');
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
  const intervals: { low: number; high: number }[][] = [];
  let evaluations = baseline.perChunk.length;
  let reused = 0;
  let done = 0;
  for (const layer of layers) {
    const slot = moeLayers.indexOf(layer);
    const row: number[] = [];
    const rowIntervals: { low: number; high: number }[] = [];
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
      const { perplexity: p, chunkDeltas } = combine(baseline, ablated);
      row.push(p);
      const nll = pairedInterval(chunkDeltas);
      rowIntervals.push({ low: baseline.perplexity * Math.expm1(nll.low), high: baseline.perplexity * Math.expm1(nll.high) });
      evaluations += ablated?.perChunk.length ?? 0;
      reused += baseline.perChunk.length - (ablated?.perChunk.length ?? 0);
      callbacks.onProgress?.({ done: ++done, total, layer, expert });
    }
    perplexity.push(row);
    intervals.push(rowIntervals);
  }
  const slots = layers.map((layer) => moeLayers.indexOf(layer));
  const routed = (slot: number) => routing.counts[slot].reduce((a, b) => a + b, 0);
  // The interval excludes 0 (NaN bounds, with one chunk, never do).
  const significant = intervals.map((row) => row.map((i) => i.low > 0 || i.high < 0));
  const cells = layers.length * experts;
  const withinNoise = cells - significant.flat().filter(Boolean).length;
  const chunks = baseline.perChunk.length;
  const noise: ImportanceNoise = {
    level: 0.95,
    method: 'paired Student t over chunks of the per-chunk change in mean log-likelihood',
    chunks,
    withinNoise,
    cells,
    moreChunks: chunks < FEW_CHUNKS || withinNoise > cells / 2,
    suggestedChunks: Math.max(FEW_CHUNKS, 2 * chunks),
    maxChunks: Math.floor(baseline.tokens / baseline.context),
  };
  return {
    model: model.name,
    baseline: { perplexity: baseline.perplexity, stderr: baseline.stderr, tokens: baseline.tokens, chunks: baseline.chunks, context: baseline.context },
    layers,
    experts,
    perplexity,
    deltaPerplexity: perplexity.map((row) => row.map((p) => p - baseline.perplexity)),
    reap: slots.map((slot) => routing.reap![slot]),
    share: slots.map((slot) => routing.counts[slot].map((n) => n / Math.max(1, routed(slot)))),
    deltaLow: intervals.map((row) => row.map((i) => i.low)),
    deltaHigh: intervals.map((row) => row.map((i) => i.high)),
    significant,
    noise,
    evaluations,
    reused,
    ms: performance.now() - start,
  };
}

/**
 * Perplexity over all chunks, the evaluated ones from `ablated` and the rest from the baseline, and per chunk the
 * change in mean NLL per scored token (0 for a reused chunk).
 */
function combine(baseline: PerplexityResult, ablated: PerplexityResult | undefined): { perplexity: number; chunkDeltas: number[] } {
  const sum = new NllSum();
  const replaced = new Map((ablated?.perChunk ?? []).map((c) => [c.index, c]));
  const chunkDeltas: number[] = [];
  for (const chunk of baseline.perChunk) {
    const c = replaced.get(chunk.index) ?? chunk;
    sum.addSums(c.nll, c.nll2, c.scored);
    chunkDeltas.push(c.nll / c.scored - chunk.nll / chunk.scored);
  }
  return { perplexity: sum.perplexity, chunkDeltas };
}
