// Small numeric helpers for routing analytics. Pure: no vscode, no DOM.

/** Binomial coefficient C(n, k) as a double (exact while the result stays below 2^53). */
export function binomial(n: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(k)) throw new RangeError(`binomial needs integers, got ${n}, ${k}`);
  if (k < 0 || n < 0 || k > n) return 0;
  k = Math.min(k, n - k);
  let result = 1;
  for (let i = 1; i <= k; i++) {
    // result * (n - k + i) / i is always an integer (it is C(n-k+i, i)).
    result = Math.round((result * (n - k + i)) / i);
  }
  return result;
}

/** Uniform-router baselines for E routed experts with top-k: what a router choosing uniformly at random scores. */
export interface UniformBaselines {
  /** P(next token's top-1 expert == this token's top-1) = 1/E. */
  keepTop1: number;
  /** P(two independent uniform k-subsets of E are equal) = 1/C(E,k). */
  keepSet: number;
  /** P(two independent uniform k-subsets share at least one expert) = 1 − C(E−k,k)/C(E,k). */
  shareAny: number;
  /** Normalised entropy of a uniform load (always 1). */
  loadEntropy: number;
}

export function uniformBaselines(experts: number, k: number): UniformBaselines {
  if (experts <= 0 || k <= 0) return { keepTop1: NaN, keepSet: NaN, shareAny: NaN, loadEntropy: 1 };
  const subsets = binomial(experts, k);
  return {
    keepTop1: 1 / experts,
    keepSet: 1 / subsets,
    shareAny: 1 - binomial(experts - k, k) / subsets,
    loadEntropy: 1,
  };
}

/** Shannon entropy (nats) of counts or weights (non-positive ones ignored); 0 for an empty or all-zero input. */
export function entropy(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  let sum = 0;
  for (let i = 0; i < length; i++) if (values[offset + i] > 0) sum += values[offset + i];
  if (!(sum > 0)) return 0;
  let h = 0;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i];
    if (v > 0) {
      const p = v / sum;
      h -= p * Math.log(p);
    }
  }
  return h;
}

/**
 * The shortest decimal that reads back as the same float32 (e.g. 0.6 for Math.fround(0.6)), as a number.
 * Used wherever a weight is written out (exports, data-weight) so every surface shows the same digits.
 */
export function float32Shortest(x: number): number {
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p <= 9; p++) {
    const y = Number(f.toPrecision(p));
    if (Math.fround(y) === f) return y;
  }
  return f;
}

/** Jensen–Shannon divergence (bits, 0..1) of two distributions given as counts or weights of the same length. */
export function jensenShannon(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`distributions of different lengths: ${a.length} and ${b.length}`);
  const sum = (v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += Math.max(0, v[i]);
    return s;
  };
  const sa = sum(a);
  const sb = sum(b);
  if (!(sa > 0) || !(sb > 0)) return NaN;
  const m = Array.from({ length: a.length }, (_, i) => Math.max(0, a[i]) / sa / 2 + Math.max(0, b[i]) / sb / 2);
  return (entropy(m) - (entropy(a) + entropy(b)) / 2) / Math.LN2;
}

/** mulberry32: a seeded PRNG giving uint32 values (the fixture generator's weights, the atlas's permutations). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seeded PRNG (mulberry32): numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 2 ** 32;
}
