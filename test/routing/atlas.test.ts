// The atlas's figures on hand-made tables and traces: MI, the permutation test, counts, classes, cards, compare.
import { describe, expect, it } from 'vitest';
import {
  AtlasBuilder,
  compareAtlases,
  entropyBits,
  loadBalance,
  mutualInformationBits,
  normalizedMutualInformation,
  permutationTest,
  type AtlasItem,
} from '../../extension/routing/atlas';
import { seededRandom } from '../../extension/routing/math';
import { tokenClass } from '../../extension/routing/atlas-token-class';

describe('mutual information', () => {
  it('is 0 for an independent table and H(label) when the label determines the expert one-to-one', () => {
    // p(l, e) = p(l) p(e)
    expect(mutualInformationBits([2, 6, 1, 3], 2, 2)).toBeCloseTo(0, 12);
    // three labels, each always on its own expert, with 1:1:2 tokens: MI = H(1/4, 1/4, 1/2) = 1.5 bits
    const table = [5, 0, 0, 0, 5, 0, 0, 0, 10];
    expect(mutualInformationBits(table, 3, 3)).toBeCloseTo(1.5, 12);
    expect(entropyBits([5, 5, 10])).toBeCloseTo(1.5, 12);
    expect(normalizedMutualInformation(table, 3, 3)).toBeCloseTo(1, 12);
  });

  it('matches Σ p(l,e) log2 p(l,e)/(p(l)p(e)) on a skewed table', () => {
    const t = [4, 1, 0, 2, 2, 3];
    const n = 12;
    const pl = [5 / n, 7 / n];
    const pe = [6 / n, 3 / n, 3 / n];
    let expected = 0;
    for (let l = 0; l < 2; l++) for (let e = 0; e < 3; e++) if (t[l * 3 + e]) expected += (t[l * 3 + e] / n) * Math.log2(t[l * 3 + e] / n / (pl[l] * pe[e]));
    expect(mutualInformationBits(t, 2, 3)).toBeCloseTo(expected, 12);
  });
});

describe('permutation test', () => {
  const sparse = (counts: number[]) => Uint32Array.from(counts.flatMap((c, e) => (c ? [e, c] : [])));

  it('a labelling that determines the expert: MI = H(label) and the smallest p-value', () => {
    const labels = Array.from({ length: 30 }, (_, i) => i % 3);
    const rows = labels.map((l) => sparse([0, 0, 0].map((_, e) => (e === l ? 10 : 0))));
    const result = permutationTest(labels, rows, 3, 3, 99, seededRandom(1));
    expect(result.miBits).toBeCloseTo(Math.log2(3), 12);
    expect(result.pValue).toBeCloseTo(1 / 100, 12);
    expect(result.chanceBits).toBeLessThan(result.miBits);
  });

  it('a labelling independent of routing: p-values spread over (0, 1]', () => {
    const random = seededRandom(7);
    const pValues: number[] = [];
    for (let trial = 0; trial < 200; trial++) {
      const labels = Array.from({ length: 12 }, (_, i) => i % 2);
      const rows = labels.map(() => {
        const counts = [0, 0, 0, 0];
        for (let t = 0; t < 20; t++) counts[Math.floor(random() * 4)]++;
        return sparse(counts);
      });
      pValues.push(permutationTest(labels, rows, 2, 4, 99, random).pValue);
    }
    for (const p of pValues) {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThanOrEqual(1);
    }
    const mean = pValues.reduce((s, p) => s + p, 0) / pValues.length;
    expect(mean).toBeGreaterThan(0.4);
    expect(mean).toBeLessThan(0.6);
    const small = pValues.filter((p) => p <= 0.05).length / pValues.length;
    expect(small).toBeLessThan(0.12);
    // all four quarters of (0, 1] are reached
    for (let q = 0; q < 4; q++) expect(pValues.some((p) => p > q / 4 && p <= (q + 1) / 4)).toBe(true);
  });
});

describe('token classes', () => {
  it.each([
    ['\n', 'newline'],
    ['    ', 'whitespace'],
    [' 42', 'digits'],
    [' ==', 'punctuation'],
    ['("', 'punctuation'],
    ['read_config', 'identifier'],
    ['parseArgs', 'identifier'],
    [' The', 'capitalised'],
    [' purpose', 'word-start'],
    ['ing', 'word-continuation'],
    ['', 'other'],
    ['a.b', 'other'],
  ])('%j is %s', (piece, cls) => expect(tokenClass(piece)).toBe(cls));
});

/** An item of n tokens with 2 MoE layers, k = 2: layer 0 top-1 = `e0`, second = e0+1; layer 1 top-1 = `e1`, second e1+1 (mod 4). */
function item(id: string, label: string, texts: string[], e0: number[], e1: number[]): AtlasItem {
  const experts: number[] = [];
  const weights: number[] = [];
  texts.forEach((_, t) => {
    experts.push(e0[t], (e0[t] + 1) % 4, e1[t], (e1[t] + 1) % 4);
    weights.push(0.7, 0.3, 0.6, 0.4);
  });
  return { id, label, texts, source: { file: `${id}.txt`, line: 1, textLines: true }, experts, weights };
}

describe('AtlasBuilder', () => {
  const shape = { layers: [3, 5], experts: 4, k: 2 };
  const build = () => {
    const b = new AtlasBuilder(shape, { seed: 3, examples: 2 });
    b.add(item('a', 'code', ['def', ' f', '(x', '):\n', '    ', 'return'], [0, 0, 0, 0, 0, 1], [2, 2, 3, 3, 2, 2]));
    b.add(item('b', 'code', ['x', ' =', ' 1', '\n'], [0, 0, 1, 0], [2, 3, 2, 2]));
    b.add(item('c', 'prose', [' The', ' cat', ' sat', '.'], [2, 2, 2, 3], [0, 0, 1, 0]));
    return b;
  };

  it('counts top-1 and top-k per (label, expert) and per class, and tokens per label', () => {
    const report = build().report(50);
    expect(report).toMatchObject({ items: 3, tokens: 14, labels: ['code', 'prose'], labelTokens: { code: 10, prose: 4 }, experts: 4, expertsPerToken: 2 });
    const [l0, l1] = report.layers;
    expect(l0.layer).toBe(3);
    expect(l1.layer).toBe(5);
    expect(l0.counts).toEqual({ code: [8, 2, 0, 0], prose: [0, 0, 3, 1] });
    // top-k adds each token's second choice (e+1)
    expect(l0.countsTopK).toEqual({ code: [8, 10, 2, 0], prose: [1, 0, 3, 4] });
    expect(l1.counts).toEqual({ code: [0, 0, 7, 3], prose: [3, 1, 0, 0] });
    expect(l0.classCounts['capitalised']).toEqual([0, 0, 1, 0]);
    expect(l0.classCounts['newline']).toEqual([2, 0, 0, 0]); // '):\n' and '\n'
    expect(l0.classCounts['whitespace']).toEqual([1, 0, 0, 0]);
    // code and prose never share a top-1 expert in layer 0: MI = H(label)
    expect(l0.miBits).toBeCloseTo(entropyBits([10, 4]), 12);
    expect(l0.normalizedMi).toBeCloseTo(1, 12);
    expect(l0.pValue).toBeGreaterThan(0);
    expect(l0.pValue).toBeLessThanOrEqual(1);
    expect(l0.load.shares.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(l0.load.shares).toEqual([9 / 28, 10 / 28, 5 / 28, 4 / 28]);
  });

  it('co-activation lift, layer-to-layer MI and load balance', () => {
    const report = build().report(10);
    const pair = report.layers[0].coactivation.find((p) => p.a === 0 && p.b === 1)!;
    // experts 0 and 1 chosen together 8 times out of 14 tokens; 0 chosen 9 times, 1 chosen 10 times
    expect(pair.count).toBe(8);
    expect(pair.lift).toBeCloseTo((8 * 14) / (9 * 10), 12);
    expect(report.layerToLayer).toHaveLength(1);
    expect(report.layerToLayer[0]).toMatchObject({ from: 3, to: 5 });
    expect(report.layerToLayer[0].miBits).toBeGreaterThan(0);
    const load = loadBalance([90, 9, 1, 0]);
    expect(load.underloaded).toEqual([2, 3]); // under 1/40 of the load
    expect(load.maxMinRatio).toBeNull();
    expect(loadBalance([1, 1, 1, 1]).normalizedEntropy).toBeCloseTo(1, 12);
  });

  it('expert cards: top tokens, label and class mix, example contexts with file and line', () => {
    const report = build().report(0);
    const card = report.cards.find((c) => c.layer === 3 && c.expert === 0)!;
    expect(card.labelMix).toEqual({ code: 8 });
    expect(card.byCount.reduce((s, t) => s + t.count, 0)).toBe(9); // top-k: prose's "." chose it second
    expect(card.examples).toHaveLength(2);
    for (const ex of card.examples) {
      expect(ex.label).toBe('code');
      expect(['a.txt', 'b.txt']).toContain(ex.file);
      expect(ex.line).toBeGreaterThanOrEqual(1);
    }
    // the token after "):\n" starts on line 2 of item a
    const builder = new AtlasBuilder(shape, { examples: 1 });
    builder.add(item('a', 'code', ['x', '\n', 'y'], [0, 0, 1], [0, 0, 0]));
    const ex = builder.report(0).cards.find((c) => c.layer === 3 && c.expert === 1)!.examples[0];
    expect(ex).toMatchObject({ token: 'y', line: 2, before: 'x\n', after: '' });
  });

  it('rejects routing that does not match the texts', () => {
    const b = new AtlasBuilder(shape);
    expect(() => b.add({ id: 'x', label: 'l', texts: ['a', 'b'], experts: [0, 1, 2, 3], weights: [1, 0, 1, 0] })).toThrow(/routing for 1 tokens, texts for 2/);
  });

  it('compare: the same atlas has not moved; another routing has', () => {
    const a = build().report(0);
    const same = compareAtlases(a, a);
    for (const layer of same) {
      expect(layer.loadJs).toBeCloseTo(0, 12);
      expect(layer.moved).toEqual([]);
    }
    const other = new AtlasBuilder(shape);
    other.add(item('a', 'code', ['a', 'b', 'c', 'd'], [2, 2, 2, 2], [2, 2, 3, 3]));
    other.add(item('c', 'prose', ['a', 'b', 'c', 'd'], [0, 0, 0, 0], [0, 0, 1, 0]));
    const shift = compareAtlases(a, other.report(0));
    expect(shift[0].loadJs).toBeGreaterThan(0.01);
    // expert 0 served code only, now prose only
    expect(shift[0].moved.find((m) => m.expert === 0)?.labelMixJs).toBeCloseTo(1, 12);
    expect(() => compareAtlases(a, { ...a, experts: 8 })).toThrow(/differ in shape/);
  });
});
