// Incremental routing aggregates of one message (or, merged, of a conversation). Pure: no vscode, no DOM.
//
// Layout of a RoutingBlock: `experts[(t * layers + l) * k + r]` = expert of rank r (gate weight desc) of
// token t at MoE layer l (l indexes the routing arrays, not the model's layer ids); `weights` alike.

import type { RoutingBlock } from '../protocol';
import { entropy, uniformBaselines, type UniformBaselines } from './math';

export interface LayerStats {
  /** Position of the layer in the routing arrays. */
  layer: number;
  /** Tokens per expert whose top-1 (rank 0) expert it was. */
  top1: number[];
  /** Tokens per expert that had it among their top-k. */
  topk: number[];
  /**
   * Entropy of the load distribution (top-k assignment counts over experts), normalised by ln E:
   * 1 = all experts used equally, 0 = one expert takes everything.
   */
  loadEntropy: number;
  /** The same for the top-1 load. */
  loadEntropyTop1: number;
  /** Mean over tokens of the entropy (nats) of the token's k gate weights (renormalised to sum 1). */
  gateEntropy: number;
  /** gateEntropy / ln k: 1 = the k chosen experts weigh equally, 0 = one takes all weight. */
  gateEntropyNormK: number;
  /** gateEntropy / ln E (bounded by ln k / ln E, since only the top-k weights are captured). */
  gateEntropyNormE: number;
  /** Rate a token keeps the previous token's top-1 expert (null without token pairs). */
  keepTop1: number | null;
  /** Rate a token's top-k set equals the previous token's top-k set. */
  keepSet: number | null;
  /** Rate a token's top-k set shares at least one expert with the previous token's. */
  shareAny: number | null;
}

export interface RoutingSummary {
  experts: number;
  layers: number;
  k: number;
  /** Tokens with routing. */
  tokens: number;
  /** Consecutive token pairs the keep rates are computed over. */
  pairs: number;
  baselines: UniformBaselines;
  perLayer: LayerStats[];
  /** Means over layers of the per-layer figures (null rates when there are no pairs). */
  mean: Omit<LayerStats, 'layer' | 'top1' | 'topk'>;
}

export interface AggregatorShape {
  /** Routed experts per MoE layer (E). Grows automatically if a larger expert id shows up. */
  experts: number;
  layers?: number;
  k?: number;
}

/**
 * Counts routing incrementally: `add(block)` costs O(tokens × layers × k). Token pairs for the keep rates
 * are counted between consecutive token indices only (a gap in `firstIndex` starts a new run).
 */
export class RoutingAggregator {
  experts: number;
  layers = 0;
  k = 0;
  tokens = 0;
  pairs = 0;
  top1 = new Uint32Array(0);
  topk = new Uint32Array(0);
  gateEntropySum = new Float64Array(0);
  keepTop1Count = new Uint32Array(0);
  keepSetCount = new Uint32Array(0);
  shareAnyCount = new Uint32Array(0);
  private prev: Uint16Array | undefined;
  private prevIndex = Number.NaN;

  constructor(shape: AggregatorShape) {
    this.experts = Math.max(1, shape.experts | 0);
    if (shape.layers && shape.k) this.init(shape.layers, shape.k);
  }

  private init(layers: number, k: number): void {
    this.layers = layers;
    this.k = k;
    const cells = layers * this.experts;
    this.top1 = new Uint32Array(cells);
    this.topk = new Uint32Array(cells);
    this.gateEntropySum = new Float64Array(layers);
    this.keepTop1Count = new Uint32Array(layers);
    this.keepSetCount = new Uint32Array(layers);
    this.shareAnyCount = new Uint32Array(layers);
  }

  private growExperts(experts: number): void {
    const old = this.experts;
    const regrid = (a: Uint32Array) => {
      const b = new Uint32Array(this.layers * experts);
      for (let l = 0; l < this.layers; l++) b.set(a.subarray(l * old, (l + 1) * old), l * experts);
      return b;
    };
    this.top1 = regrid(this.top1);
    this.topk = regrid(this.topk);
    this.experts = experts;
  }

  /** Add a block of consecutive tokens. Blocks without routing (capture off, dense model) are ignored. */
  add(block: RoutingBlock): this {
    const { layers, k, experts, weights } = block;
    const n = block.ids.length;
    if (!layers || !k || experts.length === 0 || n === 0) return this;
    if (experts.length < n * layers * k) throw new RangeError(`routing block holds ${experts.length} experts, expected ${n * layers * k}`);
    if (this.layers === 0) this.init(layers, k);
    else if (layers !== this.layers || k !== this.k) {
      throw new RangeError(`routing shape changed: ${layers}×${k}, expected ${this.layers}×${this.k}`);
    }
    let maxExpert = 0;
    for (let i = 0; i < n * layers * k; i++) if (experts[i] > maxExpert) maxExpert = experts[i];
    if (maxExpert >= this.experts) this.growExperts(maxExpert + 1);

    const E = this.experts;
    const stride = layers * k;
    const carried = this.prev && block.firstIndex === this.prevIndex + 1 ? this.prev : undefined;
    for (let t = 0; t < n; t++) {
      const base = t * stride;
      // The previous token: carried over from the last block for t = 0, else the previous row of this block.
      const prev: ArrayLike<number> | undefined = t === 0 ? carried : experts;
      const prevBase = t === 0 ? 0 : base - stride;
      for (let l = 0; l < layers; l++) {
        const o = base + l * k;
        this.top1[l * E + experts[o]]++;
        for (let r = 0; r < k; r++) this.topk[l * E + experts[o + r]]++;
        this.gateEntropySum[l] += entropy(weights, o, k);
        if (prev) {
          const po = prevBase + l * k;
          if (experts[o] === prev[po]) this.keepTop1Count[l]++;
          let shared = 0;
          for (let r = 0; r < k; r++) {
            const e = experts[o + r];
            for (let q = 0; q < k; q++) {
              if (prev[po + q] === e) {
                shared++;
                break;
              }
            }
          }
          if (shared > 0) this.shareAnyCount[l]++;
          if (shared === k) this.keepSetCount[l]++;
        }
      }
      if (prev) this.pairs++;
      this.tokens++;
    }
    // Keep the last token's routing for the next block.
    this.prev = Uint16Array.from(experts.subarray((n - 1) * stride, n * stride));
    this.prevIndex = block.firstIndex + n - 1;
    return this;
  }

  /** Add the counts of another aggregator (a different message): no token pairs across the two. */
  merge(other: RoutingAggregator): this {
    if (other.layers === 0) return this;
    if (this.layers === 0) this.init(other.layers, other.k);
    else if (other.layers !== this.layers || other.k !== this.k) {
      throw new RangeError(`cannot merge routing of shape ${other.layers}×${other.k} into ${this.layers}×${this.k}`);
    }
    if (other.experts > this.experts) this.growExperts(other.experts);
    const E = this.experts;
    for (let l = 0; l < this.layers; l++) {
      for (let e = 0; e < other.experts; e++) {
        this.top1[l * E + e] += other.top1[l * other.experts + e];
        this.topk[l * E + e] += other.topk[l * other.experts + e];
      }
      this.gateEntropySum[l] += other.gateEntropySum[l];
      this.keepTop1Count[l] += other.keepTop1Count[l];
      this.keepSetCount[l] += other.keepSetCount[l];
      this.shareAnyCount[l] += other.shareAnyCount[l];
    }
    this.tokens += other.tokens;
    this.pairs += other.pairs;
    return this;
  }

  static fromBlocks(blocks: Iterable<RoutingBlock>, shape: AggregatorShape): RoutingAggregator {
    const a = new RoutingAggregator(shape);
    for (const b of blocks) a.add(b);
    return a;
  }

  static mergeAll(list: Iterable<RoutingAggregator>, shape: AggregatorShape): RoutingAggregator {
    const a = new RoutingAggregator(shape);
    for (const x of list) a.merge(x);
    return a;
  }

  summary(): RoutingSummary {
    const E = this.experts;
    const k = this.k;
    const lnE = Math.log(E);
    const lnK = Math.log(k);
    const rate = (c: number) => (this.pairs > 0 ? c / this.pairs : null);
    const perLayer: LayerStats[] = [];
    for (let l = 0; l < this.layers; l++) {
      const gate = this.tokens > 0 ? this.gateEntropySum[l] / this.tokens : 0;
      perLayer.push({
        layer: l,
        top1: Array.from(this.top1.subarray(l * E, (l + 1) * E)),
        topk: Array.from(this.topk.subarray(l * E, (l + 1) * E)),
        loadEntropy: E > 1 ? entropy(this.topk, l * E, E) / lnE : 0,
        loadEntropyTop1: E > 1 ? entropy(this.top1, l * E, E) / lnE : 0,
        gateEntropy: gate,
        gateEntropyNormK: k > 1 ? gate / lnK : 0,
        gateEntropyNormE: E > 1 ? gate / lnE : 0,
        keepTop1: rate(this.keepTop1Count[l]),
        keepSet: rate(this.keepSetCount[l]),
        shareAny: rate(this.shareAnyCount[l]),
      });
    }
    const avg = (f: (s: LayerStats) => number | null): number | null => {
      if (perLayer.length === 0) return null;
      let sum = 0;
      for (const s of perLayer) {
        const v = f(s);
        if (v === null) return null;
        sum += v;
      }
      return sum / perLayer.length;
    };
    return {
      experts: E,
      layers: this.layers,
      k,
      tokens: this.tokens,
      pairs: this.pairs,
      baselines: uniformBaselines(E, k),
      perLayer,
      mean: {
        loadEntropy: avg((s) => s.loadEntropy) ?? 0,
        loadEntropyTop1: avg((s) => s.loadEntropyTop1) ?? 0,
        gateEntropy: avg((s) => s.gateEntropy) ?? 0,
        gateEntropyNormK: avg((s) => s.gateEntropyNormK) ?? 0,
        gateEntropyNormE: avg((s) => s.gateEntropyNormE) ?? 0,
        keepTop1: avg((s) => s.keepTop1),
        keepSet: avg((s) => s.keepSet),
        shareAny: avg((s) => s.shareAny),
      },
    };
  }
}

export interface LayerComparison {
  layer: number;
  a: LayerStats;
  b: LayerStats;
  /** Total variation distance between the two top-k load distributions (0 = same shares, 1 = disjoint). */
  loadDistance: number;
  delta: { loadEntropy: number; gateEntropyNormK: number; keepTop1: number | null; keepSet: number | null; shareAny: number | null };
}

export interface RoutingComparison {
  a: RoutingSummary;
  b: RoutingSummary;
  perLayer: LayerComparison[];
  meanLoadDistance: number;
}

/** Side-by-side of two summaries of the same model (layers compared position by position). */
export function compareSummaries(a: RoutingSummary, b: RoutingSummary): RoutingComparison {
  const d = (x: number | null, y: number | null) => (x === null || y === null ? null : y - x);
  const perLayer: LayerComparison[] = [];
  const layers = Math.min(a.perLayer.length, b.perLayer.length);
  let sumDist = 0;
  for (let l = 0; l < layers; l++) {
    const la = a.perLayer[l];
    const lb = b.perLayer[l];
    const ta = la.topk.reduce((s, v) => s + v, 0);
    const tb = lb.topk.reduce((s, v) => s + v, 0);
    let tv = 0;
    const n = Math.max(la.topk.length, lb.topk.length);
    for (let e = 0; e < n; e++) tv += Math.abs((ta ? (la.topk[e] ?? 0) / ta : 0) - (tb ? (lb.topk[e] ?? 0) / tb : 0));
    const loadDistance = ta && tb ? tv / 2 : 0;
    sumDist += loadDistance;
    perLayer.push({
      layer: l,
      a: la,
      b: lb,
      loadDistance,
      delta: {
        loadEntropy: lb.loadEntropy - la.loadEntropy,
        gateEntropyNormK: lb.gateEntropyNormK - la.gateEntropyNormK,
        keepTop1: d(la.keepTop1, lb.keepTop1),
        keepSet: d(la.keepSet, lb.keepSet),
        shareAny: d(la.shareAny, lb.shareAny),
      },
    });
  }
  return { a, b, perLayer, meanLoadDistance: layers ? sumDist / layers : 0 };
}
