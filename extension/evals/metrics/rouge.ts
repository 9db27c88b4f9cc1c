// ROUGE-1/2/L as Google's `rouge_score` computes them (rouge_scorer.py, tokenize.py): lowercase, every run of
// characters outside [a-z0-9] becomes a space, split on whitespace, optionally Porter-stem tokens longer than 3
// characters, drop empty tokens. ROUGE-N counts clipped n-gram matches; ROUGE-L is the LCS over the whole text
// (not rougeLsum). With several references each ROUGE type takes the reference with the best F-measure.

import { porterStem } from './porter';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export type RougeType = 'rouge1' | 'rouge2' | 'rougeL';
export const ROUGE_TYPES: readonly RougeType[] = ['rouge1', 'rouge2', 'rougeL'];

export type RougeScores = Record<RougeType, RougeScore>;

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer). Default true. */
  stem?: boolean;
}

export interface MultiRougeScores extends RougeScores {
  /** For each type, the index of the reference that gave the best F-measure. */
  bestReference: Record<RougeType, number>;
}

/** rouge_score's tokenizer. */
export function rougeTokenize(text: string, stem = false): string[] {
  const lowered = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
  const tokens = lowered.split(/\s+/);
  const out: string[] = [];
  for (const token of tokens) {
    const t = stem && token.length > 3 ? porterStem(token) : token;
    if (/^[a-z0-9]+$/.test(t)) out.push(t);
  }
  return out;
}

export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** Count of each n-gram (its tokens joined by a space). */
export function ngramCounts(tokens: string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N from token lists (target = reference, prediction = candidate). */
export function scoreNgrams(target: string[], prediction: string[], n: number): RougeScore {
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let intersection = 0;
  for (const [gram, count] of t) intersection += Math.min(count, p.get(gram) ?? 0);
  let targetCount = 0;
  for (const c of t.values()) targetCount += c;
  let predictionCount = 0;
  for (const c of p.values()) predictionCount += c;
  const precision = intersection / Math.max(predictionCount, 1);
  const recall = intersection / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Length of the longest common subsequence (two-row dynamic programme). */
export function lcsLength(a: readonly unknown[], b: readonly unknown[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

export function scoreLcs(target: string[], prediction: string[]): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  // Intern tokens as numbers: faster comparisons in the O(n·m) table.
  const ids = new Map<string, number>();
  const intern = (tokens: string[]) =>
    tokens.map((tok) => {
      let id = ids.get(tok);
      if (id === undefined) ids.set(tok, (id = ids.size));
      return id;
    });
  const lcs = lcsLength(intern(target), intern(prediction));
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** ROUGE-1, ROUGE-2 and ROUGE-L of a prediction against one target, like `RougeScorer.score(target, prediction)`. */
export function rouge(target: string, prediction: string, options: RougeOptions = {}): RougeScores {
  const stem = options.stem ?? true;
  return rougeFromTokens(rougeTokenize(target, stem), rougeTokenize(prediction, stem));
}

export function rougeFromTokens(target: string[], prediction: string[]): RougeScores {
  return {
    rouge1: scoreNgrams(target, prediction, 1),
    rouge2: scoreNgrams(target, prediction, 2),
    rougeL: scoreLcs(target, prediction),
  };
}

/**
 * Against several references: per type, the score of the reference with the highest F-measure (the first on ties),
 * like `RougeScorer.score_multi`. Returns undefined when there are no references.
 */
export function rougeMulti(references: string[], prediction: string, options: RougeOptions = {}): MultiRougeScores | undefined {
  if (references.length === 0) return undefined;
  const stem = options.stem ?? true;
  const predictionTokens = rougeTokenize(prediction, stem);
  const all = references.map((ref) => rougeFromTokens(rougeTokenize(ref, stem), predictionTokens));
  const result = { bestReference: {} } as MultiRougeScores;
  for (const type of ROUGE_TYPES) {
    let best = 0;
    for (let i = 1; i < all.length; i++) if (all[i][type].fmeasure > all[best][type].fmeasure) best = i;
    result[type] = all[best][type];
    result.bestReference[type] = best;
  }
  return result;
}
