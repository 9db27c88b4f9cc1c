// Small routing statistics over a stretch of generated tokens, for evaluation samples. Pure functions over the
// engine's TokenFrame layout: experts[(t * layers + l) * k + r], rank 0 = the top expert.
// (The routing analytics for the views live in analytics.ts, owned separately.)

import type { TokenFrame } from '../engine/types';
import { entropy } from './math';

export interface RoutingSummaryStats {
  tokens: number;
  layers: number;
  k: number;
  experts: number;
  /** Per MoE layer: entropy of the expert load (all k choices counted) divided by log(E); 1 = perfectly even. */
  loadEntropy: number[];
  meanLoadEntropy: number;
  /** Per MoE layer: share of tokens whose top-1 expert equals the previous token's. */
  sameTop1Rate: number[];
  meanSameTop1Rate: number;
  /** What sameTop1Rate would be with uniformly random routing: 1/E. */
  sameTop1Baseline: number;
}

/** Concatenates the routing of frames of one phase (default: generated tokens). */
export function collectRouting(frames: readonly TokenFrame[], phase: TokenFrame['phase'] = 'generated') {
  const chosen = frames.filter((f) => f.phase === phase && f.experts.length > 0);
  if (chosen.length === 0) return undefined;
  const { k, layers } = chosen[0];
  const total = chosen.reduce((s, f) => s + f.experts.length, 0);
  const experts = new Uint16Array(total);
  let at = 0;
  for (const f of chosen) {
    if (f.k !== k || f.layers !== layers) continue;
    experts.set(f.experts, at);
    at += f.experts.length;
  }
  return { experts: experts.subarray(0, at), k, layers, tokens: at / (k * layers) };
}

/** Normalised entropy of counts: H / log(E); 0 when E < 2 or nothing was counted. */
export function normalisedEntropy(counts: ArrayLike<number>, experts: number): number {
  return experts < 2 ? 0 : entropy(counts) / Math.log(experts);
}

/**
 * Load entropy and top-1 stickiness per layer. `experts` is the model's expert count E (when unknown, the largest id
 * seen + 1).
 */
export function routingSummaryStats(
  routing: { experts: ArrayLike<number>; k: number; layers: number },
  expertCount?: number,
): RoutingSummaryStats {
  const { experts: ids, k, layers } = routing;
  const tokens = k > 0 && layers > 0 ? Math.floor(ids.length / (k * layers)) : 0;
  let maxId = -1;
  for (let i = 0; i < tokens * layers * k; i++) if (ids[i] > maxId) maxId = ids[i];
  const E = Math.max(expertCount ?? 0, maxId + 1);
  const loadEntropy: number[] = [];
  const sameTop1Rate: number[] = [];
  const counts = new Float64Array(Math.max(E, 1));
  for (let l = 0; l < layers; l++) {
    counts.fill(0);
    let same = 0;
    let prev = -1;
    for (let t = 0; t < tokens; t++) {
      const base = (t * layers + l) * k;
      for (let r = 0; r < k; r++) counts[ids[base + r]]++;
      const top = ids[base];
      if (t > 0 && top === prev) same++;
      prev = top;
    }
    loadEntropy.push(normalisedEntropy(counts, E));
    sameTop1Rate.push(tokens > 1 ? same / (tokens - 1) : 0);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  return {
    tokens,
    layers,
    k,
    experts: E,
    loadEntropy,
    meanLoadEntropy: mean(loadEntropy),
    sameTop1Rate,
    meanSameTop1Rate: mean(sameTop1Rate),
    sameTop1Baseline: E > 0 ? 1 / E : 0,
  };
}
