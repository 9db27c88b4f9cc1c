// Small routing statistics over a stretch of generated tokens, for evaluation samples: a projection of the
// RoutingAggregator's summary (aggregate.ts) onto the fields a sample record keeps.

import type { RoutingSummary } from './aggregate';

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

/**
 * Load entropy and top-1 stickiness per layer from an aggregator's summary (E is the aggregator's: the model's
 * expert count, grown to the largest id seen + 1). Rates are 0 without token pairs.
 */
export function routingSummaryStats(summary: RoutingSummary): RoutingSummaryStats {
  return {
    tokens: summary.tokens,
    layers: summary.layers,
    k: summary.k,
    experts: summary.experts,
    loadEntropy: summary.perLayer.map((s) => s.loadEntropy),
    meanLoadEntropy: summary.mean.loadEntropy,
    sameTop1Rate: summary.perLayer.map((s) => s.keepTop1 ?? 0),
    meanSameTop1Rate: summary.mean.keepTop1 ?? 0,
    sameTop1Baseline: summary.baselines.keepTop1,
  };
}
