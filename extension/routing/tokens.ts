// Token-level access to the routing of one message: which block holds token i, its top-1 expert per
// layer, the mode of its top-1 path and its agreement with the previous token. Pure: no vscode, no DOM.

import type { RoutingBlock } from '../protocol';

export interface TokenRouting {
  index: number;
  id: number;
  text: string;
  phase: RoutingBlock['phase'];
  layers: number;
  k: number;
  /** experts[l * k + r], weights alike (views into the block's arrays). */
  experts: ArrayLike<number>;
  weights: ArrayLike<number>;
}

let modeCounts = new Uint16Array(256);

/** The routing of one message, appended block by block; tokens are addressed by position 0..count-1. */
export class RoutingIndex {
  readonly blocks: RoutingBlock[] = [];
  /** starts[i] = position of blocks[i]'s first token. */
  private starts: number[] = [];
  count = 0;

  add(block: RoutingBlock): void {
    if (block.ids.length === 0) return;
    this.blocks.push(block);
    this.starts.push(this.count);
    this.count += block.ids.length;
  }

  clear(): void {
    this.blocks.length = 0;
    this.starts.length = 0;
    this.count = 0;
  }

  /** Block number and offset of the token at position `pos`, or -1. */
  private locate(pos: number): number {
    if (pos < 0 || pos >= this.count) return -1;
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index, id and text of the token at `pos` (no routing views: cheap, for rendering many tokens). */
  meta(pos: number): { index: number; id: number; text: string } | undefined {
    const b = this.locate(pos);
    if (b < 0) return undefined;
    const block = this.blocks[b];
    const t = pos - this.starts[b];
    return { index: block.firstIndex + t, id: block.ids[t], text: block.texts[t] ?? '' };
  }

  /** Text of the token at `pos` ('' when out of range). */
  text(pos: number): string {
    const b = this.locate(pos);
    return b < 0 ? '' : (this.blocks[b].texts[pos - this.starts[b]] ?? '');
  }

  /** Whether the token at `pos` carries routing (capture on, MoE model). */
  hasRouting(pos: number): boolean {
    const b = this.locate(pos);
    return b >= 0 && this.blocks[b].experts.length > 0 && this.blocks[b].layers > 0;
  }

  token(pos: number): TokenRouting | undefined {
    const b = this.locate(pos);
    if (b < 0) return undefined;
    const block = this.blocks[b];
    const t = pos - this.starts[b];
    const stride = block.layers * block.k;
    const hasRouting = block.experts.length >= (t + 1) * stride && stride > 0;
    return {
      index: block.firstIndex + t,
      id: block.ids[t],
      text: block.texts[t] ?? '',
      phase: block.phase,
      layers: hasRouting ? block.layers : 0,
      k: hasRouting ? block.k : 0,
      experts: hasRouting ? block.experts.subarray(t * stride, (t + 1) * stride) : new Uint16Array(0),
      weights: hasRouting ? block.weights.subarray(t * stride, (t + 1) * stride) : new Float32Array(0),
    };
  }

  /** Top-1 expert of the token at `pos` in routing layer `layer`, or -1 without routing. */
  top1(pos: number, layer: number): number {
    const b = this.locate(pos);
    if (b < 0) return -1;
    const block = this.blocks[b];
    if (!block.layers || layer < 0 || layer >= block.layers) return -1;
    const o = ((pos - this.starts[b]) * block.layers + layer) * block.k;
    return o < block.experts.length ? block.experts[o] : -1;
  }

  /** The most frequent top-1 expert over all layers (ties: lowest id), or -1. */
  modeTop1(pos: number): number {
    const b = this.locate(pos);
    if (b < 0) return -1;
    const block = this.blocks[b];
    const { layers, k } = block;
    const base = (pos - this.starts[b]) * layers * k;
    if (!layers || base >= block.experts.length) return -1;
    let max = 0;
    for (let l = 0; l < layers; l++) max = Math.max(max, block.experts[base + l * k]);
    if (modeCounts.length <= max) modeCounts = new Uint16Array(Math.max(max + 1, modeCounts.length * 2));
    let best = -1;
    let bestCount = 0;
    for (let l = 0; l < layers; l++) {
      const e = block.experts[base + l * k];
      const c = ++modeCounts[e];
      if (c > bestCount || (c === bestCount && e < best)) {
        best = e;
        bestCount = c;
      }
    }
    for (let l = 0; l < layers; l++) modeCounts[block.experts[base + l * k]] = 0;
    return best;
  }

  /**
   * Path agreement with the previous token: the share of layers where this token's top-1 expert equals the
   * previous token's (null for the first token or without routing).
   */
  agreement(pos: number): number | null {
    if (pos <= 0 || pos >= this.count) return null;
    // This token and the previous one: the row before in the same block, or the last row of the block before.
    const b = this.locate(pos);
    const t = pos - this.starts[b];
    const block = this.blocks[b];
    const prevBlock = t > 0 ? block : this.blocks[b - 1];
    const prevT = t > 0 ? t - 1 : prevBlock.ids.length - 1;
    const layers = block.experts.length > 0 ? block.layers : 0;
    if (!layers || (prevBlock.experts.length > 0 ? prevBlock.layers : 0) !== layers) return null;
    const base = t * layers * block.k;
    const prevBase = prevT * layers * prevBlock.k;
    let same = 0;
    for (let l = 0; l < layers; l++) {
      const o = base + l * block.k;
      const p = prevBase + l * prevBlock.k;
      // -1 where a block holds no routing for the token (as top1 answers).
      const e = o < block.experts.length ? block.experts[o] : -1;
      const pe = p < prevBlock.experts.length ? prevBlock.experts[p] : -1;
      if (e === pe) same++;
    }
    return same / layers;
  }
}
