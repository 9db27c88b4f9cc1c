import { describe, expect, it } from 'vitest';
import { rouge, rougeMulti, rougeTokenize, lcsLength } from '../../extension/evals/metrics/rouge';

describe('rouge_score tokenizer', () => {
  it('lowercases, turns non-[a-z0-9] into spaces and splits', () => {
    expect(rougeTokenize("Hello, WORLD! it's 3.14 — naïve")).toEqual(['hello', 'world', 'it', 's', '3', '14', 'na', 've']);
  });
  it('stems only tokens longer than 3 characters', () => {
    // "dies" (4 chars) is stemmed to "die"; "ties"... "bus" (3) is kept as is, "buses" becomes "buse".
    expect(rougeTokenize('bus buses running ran', true)).toEqual(['bus', 'buse', 'run', 'ran']);
  });
  it('drops everything when there is no alphanumeric character', () => {
    expect(rougeTokenize(' /// … ')).toEqual([]);
  });
});

describe('published rouge_score test values (rouge_scorer_test.py)', () => {
  it('testRouge1: target "testing one two", prediction "testing"', () => {
    const r = rouge('testing one two', 'testing', { stem: false }).rouge1;
    expect(r.precision).toBeCloseTo(1, 10);
    expect(r.recall).toBeCloseTo(1 / 3, 10);
    expect(r.fmeasure).toBeCloseTo(1 / 2, 10);
  });
  it('testRouge2: prediction "testing one"', () => {
    const r = rouge('testing one two', 'testing one', { stem: false }).rouge2;
    expect(r.precision).toBeCloseTo(1, 10);
    expect(r.recall).toBeCloseTo(1 / 2, 10);
    expect(r.fmeasure).toBeCloseTo(2 / 3, 10);
  });
  it('testRougeLConsecutive and testRougeLNonConsecutive', () => {
    for (const prediction of ['testing one', 'testing two']) {
      const r = rouge('testing one two', prediction, { stem: false }).rougeL;
      expect(r.precision).toBeCloseTo(1, 10);
      expect(r.recall).toBeCloseTo(2 / 3, 10);
      expect(r.fmeasure).toBeCloseTo(4 / 5, 10);
    }
  });
  it('testRougeEmpty: an empty prediction scores 0 for every type', () => {
    const r = rouge('testing one two', '');
    for (const t of ['rouge1', 'rouge2', 'rougeL'] as const) {
      expect(r[t]).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    }
  });
  it('testLcsTable: LCS of [1,2,3,4,5] and [2,5,3,4] is 3; none with [8,9]', () => {
    expect(lcsLength([1, 2, 3, 4, 5], [2, 5, 3, 4])).toBe(3);
    expect(lcsLength([1, 2, 3, 4, 5], [8, 9])).toBe(0);
  });
});

describe('hand-worked values', () => {
  it('"The cat sat on the mat." vs "The cat lay on the mat"', () => {
    // target tokens: the cat sat on the mat (6); prediction: the cat lay on the mat (6)
    // ROUGE-1: clipped overlap the:min(2,2)=2 + cat 1 + on 1 + mat 1 = 5 → P = R = F = 5/6
    // ROUGE-2: target bigrams {the cat, cat sat, sat on, on the, the mat}; prediction {the cat, cat lay, lay on,
    //          on the, the mat}; overlap 3 of 5 each → 3/5
    // ROUGE-L: LCS "the cat on the mat" = 5 → 5/6
    const r = rouge('The cat sat on the mat.', 'The cat lay on the mat', { stem: false });
    expect(r.rouge1.fmeasure).toBeCloseTo(5 / 6, 12);
    expect(r.rouge2.precision).toBeCloseTo(3 / 5, 12);
    expect(r.rouge2.recall).toBeCloseTo(3 / 5, 12);
    expect(r.rougeL.fmeasure).toBeCloseTo(5 / 6, 12);
  });

  it('stemming: "The models were summarizing documents" vs "A model summarized the document"', () => {
    const target = 'The models were summarizing documents';
    const prediction = 'A model summarized the document';
    // Without stemming only "the" matches: P = R = 1/5, F = 0.2; no bigram matches.
    const plain = rouge(target, prediction, { stem: false });
    expect(plain.rouge1.fmeasure).toBeCloseTo(0.2, 12);
    expect(plain.rouge2.fmeasure).toBe(0);
    // With stemming: target → the model were summar document; prediction → a model summar the document.
    // ROUGE-1 overlap: the, model, summar, document = 4 of 5 → 0.8. ROUGE-2: no shared bigram → 0.
    // ROUGE-L: LCS model summar document = 3 → 3/5.
    const stemmed = rouge(target, prediction, { stem: true });
    expect(stemmed.rouge1.precision).toBeCloseTo(0.8, 12);
    expect(stemmed.rouge1.recall).toBeCloseTo(0.8, 12);
    expect(stemmed.rouge2.fmeasure).toBe(0);
    expect(stemmed.rougeL.fmeasure).toBeCloseTo(0.6, 12);
  });

  it('unequal lengths: P and R differ and F is their harmonic mean', () => {
    // target: a b c d (4), prediction: a b (2) → overlap 2: P = 2/2 = 1, R = 2/4 = 0.5, F = 2·1·0.5/1.5 = 2/3
    const r = rouge('alpha beta gamma delta', 'alpha beta', { stem: false }).rouge1;
    expect(r.precision).toBe(1);
    expect(r.recall).toBe(0.5);
    expect(r.fmeasure).toBeCloseTo(2 / 3, 12);
  });

  it('clips repeated n-grams to the target count', () => {
    // target "the the cat" has the:2; prediction "the the the the" has the:4 → overlap min(2,4) = 2
    // P = 2/4 = 0.5, R = 2/3
    const r = rouge('the the cat', 'the the the the', { stem: false }).rouge1;
    expect(r.precision).toBeCloseTo(0.5, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
  });
});

describe('several references', () => {
  it('takes the best reference per type and reports which', () => {
    const r = rougeMulti(['completely unrelated words here', 'the cat sat on the mat'], 'the cat sat on a mat', { stem: false })!;
    expect(r.bestReference.rouge1).toBe(1);
    expect(r.rouge1.fmeasure).toBeCloseTo(5 / 6, 12);
  });
  it('is undefined without references', () => {
    expect(rougeMulti([], 'anything')).toBeUndefined();
  });
});
