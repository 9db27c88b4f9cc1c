// Perplexity exactly as llama.cpp's `llama-perplexity` defines it (tools/perplexity/perplexity.cpp, ppl-stride 0):
//   - the text is tokenized whole, with BOS when the vocabulary adds one;
//   - it is split into non-overlapping chunks of `context` tokens (at most `chunks` of them; the text must hold
//     at least two); the first token of every chunk is replaced by BOS, and each chunk is evaluated afresh;
//   - of each chunk only the second half is scored: positions first = context/2 … context-2 each predict the
//     next token, so context - first - 1 tokens per chunk;
//   - PPL = exp(mean NLL), and its "±" = sqrt((mean NLL² - mean NLL²)/(count-1)) × PPL.
// Plus routing statistics of the evaluated tokens. Pure: the engine feeds it the native log-probabilities. And
// chunkingFor: the chunking of a text of any length where no context is given (it counts tokens through an Engine).
import { EngineError } from './errors';
import type { Engine, RoutingStats } from './types';

export interface ChunkPlan {
  context: number;
  chunks: number;
  /** First scored position within a chunk (llama-perplexity's `first`). */
  first: number;
}

export function planChunks(tokenCount: number, context: number, maxChunks?: number): ChunkPlan {
  if (!Number.isInteger(context) || context < 4) throw new EngineError('too-little-text', `the perplexity context must be at least 4 tokens, not ${context}`);
  if (tokenCount < 2 * context)
    throw new EngineError(
      'too-little-text',
      `the text has ${tokenCount} tokens; perplexity with a context of ${context} needs at least ${2 * context} (give more text or a smaller --context)`,
    );
  const available = Math.floor(tokenCount / context);
  const chunks = maxChunks === undefined || maxChunks <= 0 ? available : Math.min(maxChunks, available);
  return { context, chunks, first: Math.floor(context / 2) };
}

/** Chunk i's tokens, its first one replaced by BOS (when the vocabulary adds one, `bos` >= 0). */
export function chunkTokens(tokens: Int32Array, plan: ChunkPlan, index: number, bos: number): Int32Array {
  const chunk = tokens.slice(index * plan.context, (index + 1) * plan.context);
  if (bos >= 0) chunk[0] = bos;
  return chunk;
}

/** Sums of NLL and NLL² as llama-perplexity keeps them (in doubles). */
export class NllSum {
  nll = 0;
  nll2 = 0;
  count = 0;

  add(logprobs: ArrayLike<number>): number {
    let chunkNll = 0;
    for (let i = 0; i < logprobs.length; i++) {
      const lp = logprobs[i];
      chunkNll -= lp;
      this.nll2 += lp * lp;
    }
    this.nll += chunkNll;
    this.count += logprobs.length;
    return chunkNll;
  }

  /** Adds a chunk known only by its sums (a chunk reused from an earlier run). */
  addSums(nll: number, nll2: number, count: number): void {
    this.nll += nll;
    this.nll2 += nll2;
    this.count += count;
  }

  get perplexity(): number {
    return this.count ? Math.exp(this.nll / this.count) : NaN;
  }

  /** llama-perplexity's "Final estimate: PPL = x +/- this". */
  get stderr(): number {
    if (this.count < 2) return NaN;
    const mean = this.nll / this.count;
    const variance = this.nll2 / this.count - mean * mean;
    return variance > 0 ? Math.sqrt(variance / (this.count - 1)) * this.perplexity : 0;
  }
}

/** Counts, gate-weight sums and REAP sums per (MoE layer, expert) over captured tokens. */
export class RoutingAccumulator {
  private readonly counts: Float64Array;
  private readonly weightSums: Float64Array;
  private readonly reapSums?: Float64Array;
  tokens = 0;

  constructor(
    private readonly layers: number[],
    private readonly experts: number,
    private readonly k: number,
    reap: boolean,
  ) {
    this.counts = new Float64Array(layers.length * experts);
    this.weightSums = new Float64Array(layers.length * experts);
    if (reap) this.reapSums = new Float64Array(layers.length * experts);
  }

  /** Adds a chunk's routing ([token][layer][k]); returns, per layer, the experts any of its tokens chose. */
  add(experts: Uint16Array, weights: Float32Array, norms?: Float32Array): number[][] {
    const L = this.layers.length;
    const k = this.k;
    const width = L * k;
    const tokens = width ? experts.length / width : 0;
    const used = Array.from({ length: L }, () => new Set<number>());
    for (let t = 0; t < tokens; t++)
      for (let l = 0; l < L; l++)
        for (let r = 0; r < k; r++) {
          const i = (t * L + l) * k + r;
          const w = weights[i];
          if (!(w > 0)) continue; // a slot of weight 0 (forcing fewer than k experts) routes nothing
          const cell = l * this.experts + experts[i];
          this.counts[cell]++;
          this.weightSums[cell] += w;
          if (this.reapSums && norms?.length) this.reapSums[cell] += w * norms[i];
          used[l].add(experts[i]);
        }
    this.tokens += tokens;
    return used.map((set) => [...set].sort((a, b) => a - b));
  }

  stats(): RoutingStats {
    const grid = (values: Float64Array, divideByCount = false) =>
      this.layers.map((_, l) =>
        Array.from({ length: this.experts }, (_, e) => {
          const v = values[l * this.experts + e];
          if (!divideByCount) return v;
          const n = this.counts[l * this.experts + e];
          return n ? v / n : 0;
        }),
      );
    return {
      layers: this.layers,
      experts: this.experts,
      k: this.k,
      tokens: this.tokens,
      counts: grid(this.counts),
      weightSums: grid(this.weightSums),
      ...(this.reapSums ? { reap: grid(this.reapSums, true) } : {}),
    };
  }
}

/**
 * Chunking for a text of any length where no --context is given (VS Code's Perplexity, Expert Importance, Prune
 * Experts and Compare): the loaded context, at most 512 tokens, small enough for `spread` chunks but at least 16;
 * at most `chunks` chunks. A text shorter than two chunks is refused.
 */
export async function chunkingFor(engine: Engine, text: string, { chunks = 8, spread = 2 }: { chunks?: number; spread?: number } = {}): Promise<{ context: number; chunks: number }> {
  const tokens = (await engine.tokenize(text)).length + 1;
  const context = Math.min(engine.model?.contextSize ?? 512, 512, Math.max(MIN_CHUNK_TOKENS, Math.floor(tokens / spread)));
  if (tokens < 2 * context) throw new EngineError('too-little-text', `the text has ${tokens} tokens; measuring perplexity on it needs at least ${2 * context}`);
  return { context, chunks };
}

/** The smallest chunk chunkingFor makes. */
export const MIN_CHUNK_TOKENS = 16;
