// compareAcrossPruning on hand-built atlases: a 4-expert original and a copy pruned to 3 experts (original 2
// removed; slots 0, 1, 2 are original 0, 1, 3), one MoE layer (block 5), top-1 routing.
import { describe, expect, it } from 'vitest';
import { AtlasBuilder, type AtlasReport } from '../../extension/routing/atlas';
import { compareAcrossPruning, comparisonWithOriginal, pairAtlases, toOriginalIds } from '../../extension/routing/atlas-pruned';

/** An atlas of one layer over items of one token each: [label, expert chosen] per item. */
function atlas(experts: number, routed: [string, number][]): AtlasReport {
  const builder = new AtlasBuilder({ layers: [5], experts, k: 1 });
  routed.forEach(([label, e], i) => builder.add({ id: `i${i}`, label, texts: [label === 'code' ? '{' : 'the'], experts: [e], weights: [1] }));
  return builder.report(0);
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);
const IDS = { 5: [0, 1, 3] };

// Original: prose on 0 (4) and 1 (4); code on 2 (6) and 3 (2).
const original = atlas(4, [...repeat(4, ['prose', 0] as [string, number]), ...repeat(4, ['prose', 1] as [string, number]), ...repeat(6, ['code', 2] as [string, number]), ...repeat(2, ['code', 3] as [string, number])]);

describe('compareAcrossPruning', () => {
  it("a removed expert's traffic moving to a kept one shows, in original ids", () => {
    // Pruned: prose unchanged; code's tokens all go to slot 2, which is original expert 3.
    const pruned = atlas(3, [...repeat(4, ['prose', 0] as [string, number]), ...repeat(4, ['prose', 1] as [string, number]), ...repeat(8, ['code', 2] as [string, number])]);
    const c = compareAcrossPruning(original, pruned, IDS);
    expect(c).toMatchObject({ originalExperts: 4, prunedExperts: 3 });
    const [layer] = c.layers;
    expect(layer.layer).toBe(5);
    expect(layer.removed).toEqual([{ expert: 2, shareOriginal: 6 / 16, sharePruned: 0 }]);
    expect(layer.removedShare).toBeCloseTo(6 / 16, 12);
    // Slot 2 carries original 3's share: 2/16 → 8/16; the others kept theirs.
    expect(layer.gained).toEqual([{ expert: 3, shareOriginal: 2 / 16, sharePruned: 8 / 16 }]);
    expect(layer.loadJs).toBeGreaterThan(0.1);
    expect(layer.moved.map((m) => m.expert).sort()).toEqual([2, 3]);
    const code = layer.labels.find((l) => l.name === 'code')!;
    expect(code).toMatchObject({ topOriginal: [2, 3], topPruned: [3], removedShare: 6 / 8 });
    expect(code.js).toBeGreaterThan(0.1);
    const prose = layer.labels.find((l) => l.name === 'prose')!;
    expect(prose).toMatchObject({ topOriginal: [0, 1], topPruned: [0, 1], removedShare: 0 });
    expect(prose.js).toBeCloseTo(0, 12);
    expect(layer.classes.length).toBeGreaterThan(0);
  });

  it('identical routing of the kept experts: zero shift', () => {
    // The original never chose expert 2; the pruned model routes every token to the same original id.
    const same = atlas(4, [['prose', 0], ['prose', 1], ['code', 3], ['code', 3]]);
    const pruned = atlas(3, [['prose', 0], ['prose', 1], ['code', 2], ['code', 2]]);
    const [layer] = compareAcrossPruning(same, pruned, IDS).layers;
    expect(layer.loadJs).toBeCloseTo(0, 12);
    expect(layer.moved).toEqual([]);
    expect(layer.gained).toEqual([]);
    expect(layer.removed).toEqual([{ expert: 2, shareOriginal: 0, sharePruned: 0 }]);
    for (const mix of [...layer.labels, ...layer.classes]) expect(mix.js).toBeCloseTo(0, 12);
  });

  it('maps counts, load and cards to original ids', () => {
    const pruned = atlas(3, [['prose', 0], ['code', 2], ['code', 2]]);
    const mapped = toOriginalIds(pruned, IDS, 4);
    expect(mapped.experts).toBe(4);
    expect(mapped.layers[0].counts.code).toEqual([0, 0, 0, 2]);
    expect(mapped.layers[0].load.shares).toEqual([1 / 3, 0, 0, 2 / 3]);
    expect(mapped.cards.map((c) => c.expert)).toEqual([0, 1, 3]);
  });

  it('refuses ids that do not map the slots, and atlases that are not a model and its pruned copy', () => {
    const pruned = atlas(3, [['prose', 0]]);
    expect(() => compareAcrossPruning(original, pruned, { 5: [0, 1] })).toThrow(/original ids of layer 5/);
    expect(() => compareAcrossPruning(original, pruned, { 5: [0, 1, 4] })).toThrow(/original ids of layer 5/);
    expect(() => compareAcrossPruning(original, pruned, { 5: [0, 1, 1] })).toThrow(/original ids of layer 5/);
    expect(() => compareAcrossPruning(original, original, { 5: [0, 1, 2, 3] })).toThrow(/not fewer/);
    expect(() => compareAcrossPruning(original, { ...pruned, layers: [{ ...pruned.layers[0], layer: 6 }] }, IDS)).toThrow(/other MoE layers/);
  });
});

describe('pairAtlases', () => {
  const named = (report: AtlasReport, model: string, extra = {}) => ({ ...report, model, ...extra });
  const a = named(original, 'M');
  const p = named(atlas(3, [['prose', 0]]), 'M', { originalExpertIds: IDS, originalExperts: 4 });

  it('finds the pruned one in either order; the same shape is same', () => {
    expect(pairAtlases(a, p)).toMatchObject({ kind: 'pruned', original: a, pruned: p, originalExpertIds: IDS });
    expect(pairAtlases(p, a)).toMatchObject({ kind: 'pruned', original: a, pruned: p });
    expect(pairAtlases(a, a).kind).toBe('same');
  });

  it('another model, or a pruning of another count, is unrelated with a reason', () => {
    const other = pairAtlases(named(original, 'Other'), p);
    expect(other).toEqual({ kind: 'unrelated', reason: 'the atlases are of different models: Other (1 MoE layer × 4 experts) and M (1 MoE layer × 3 experts, pruned from 4), neither pruned from the other' });
    expect(pairAtlases(named(atlas(5, [['prose', 0]]), 'M'), p).kind).toBe('unrelated');
    expect(pairAtlases(a, named(atlas(3, [['prose', 0]]), 'M')).kind).toBe('unrelated');
  });
});

describe('comparisonWithOriginal', () => {
  const named = (report: AtlasReport, model: string, extra = {}) => ({ ...report, model, ...extra });
  const p = named(atlas(3, [['prose', 0], ['code', 2]]), 'M', { originalExpertIds: IDS, originalExperts: 4 });

  it("finds the latest atlas of the pruned model's original among those built", () => {
    const older = named(atlas(4, [['prose', 1], ['code', 2]]), 'M');
    const latest = named(original, 'M');
    const found = comparisonWithOriginal(p, [older, named(original, 'Other'), latest, p])!;
    expect(found.original).toBe('M');
    expect(found.comparison).toEqual(compareAcrossPruning(latest, p, IDS));
  });

  it('none for an atlas of a model that was not pruned, or without its original', () => {
    expect(comparisonWithOriginal(named(original, 'M'), [named(original, 'M')])).toBeUndefined();
    expect(comparisonWithOriginal(p, [named(original, 'Other'), p])).toBeUndefined();
  });
});
