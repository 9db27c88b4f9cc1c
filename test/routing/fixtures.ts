// A small hand-made routing trace: E = 4 experts, k = 2, 2 MoE layers, 4 tokens.
//   token 0: L0 [0,1] (.75,.25)  L1 [2,3] (.5,.5)
//   token 1: L0 [0,2] (.5,.5)    L1 [3,2] (.75,.25)
//   token 2: L0 [1,3] (.75,.25)  L1 [2,3] (.5,.5)
//   token 3: L0 [1,3] (.5,.5)    L1 [0,1] (.75,.25)
import type { RoutingBlock } from '../../extension/protocol';

export const E = 4;
export const K = 2;
export const LAYERS = 2;

const EXPERTS = [0, 1, 2, 3, 0, 2, 3, 2, 1, 3, 2, 3, 1, 3, 0, 1];
const WEIGHTS = [0.75, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75, 0.25, 0.75, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75, 0.25];
export const TEXTS = ['Hel', 'lo', ', "x"', '\n'];
export const IDS = [101, 102, 103, 104];

/** Tokens [from, to) of the trace as one block. */
export function block(from: number, to: number, firstIndex = from): RoutingBlock {
  const s = LAYERS * K;
  return {
    firstIndex,
    phase: 'generated',
    ids: Int32Array.from(IDS.slice(from, to)),
    texts: TEXTS.slice(from, to),
    experts: Uint16Array.from(EXPERTS.slice(from * s, to * s)),
    weights: Float32Array.from(WEIGHTS.slice(from * s, to * s)),
    k: K,
    layers: LAYERS,
  };
}

/** A deterministic pseudo-random trace (for incremental-vs-batch checks). */
export function randomBlock(firstIndex: number, tokens: number, layers: number, experts: number, k: number, seed: number): RoutingBlock {
  let x = seed >>> 0 || 1;
  const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const ex = new Uint16Array(tokens * layers * k);
  const w = new Float32Array(tokens * layers * k);
  for (let i = 0; i < tokens * layers; i++) {
    const chosen: number[] = [];
    while (chosen.length < k) {
      const e = Math.floor(rand() * experts);
      if (!chosen.includes(e)) chosen.push(e);
    }
    const ws = chosen.map(() => rand()).sort((a, b) => b - a);
    const sum = ws.reduce((a, b) => a + b, 0);
    for (let r = 0; r < k; r++) {
      ex[i * k + r] = chosen[r];
      w[i * k + r] = ws[r] / sum;
    }
  }
  return {
    firstIndex,
    phase: 'generated',
    ids: Int32Array.from({ length: tokens }, (_, i) => 1000 + i),
    texts: Array.from({ length: tokens }, (_, i) => `t${firstIndex + i}`),
    experts: ex,
    weights: w,
    k,
    layers,
  };
}
