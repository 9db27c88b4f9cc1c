// The atlas of a pruned model (`moe-lens prune`) against its original's, in the ORIGINAL's expert ids: the pruned
// report's slots are mapped back to original ids (removed experts at 0), then compared with compareAtlases' measures;
// on top, the removed experts, where their traffic went, and per label / token class how the top experts changed.
// Pure: no vscode, no Node.
import { compareAtlases, loadBalance, type AtlasLayer, type AtlasLayerShift, type AtlasReport } from './atlas';
import type { PrunedIds } from '../engine/original-experts';
import { formatNoun, formatPercent } from '../format';
import { jensenShannon } from './math';

export interface PrunedExpertShare {
  /** Original id. */
  expert: number;
  /** Share of the layer's top-k selections in the original. */
  shareOriginal: number;
  /** In the pruned model (0 for a removed expert). */
  sharePruned: number;
}

export interface PrunedMixShift {
  /** The label or token class. */
  name: string;
  /** Jensen–Shannon (bits, 0..1) between its top-1 expert mix in the original and in the pruned model. */
  js: number;
  /** Its most chosen top-1 experts (original ids), most first, in each model. */
  topOriginal: number[];
  topPruned: number[];
  /** Share of its top-1 tokens that went to experts the pruning removed (in the original). */
  removedShare: number;
}

export interface PrunedLayerShift extends AtlasLayerShift {
  /** The removed experts (original ids) with their share in the original, largest first. */
  removed: PrunedExpertShare[];
  /** The original's share of selections that went to the removed experts. */
  removedShare: number;
  /** Kept experts whose share grew, most first: where the removed experts' traffic went. */
  gained: PrunedExpertShare[];
  labels: PrunedMixShift[];
  classes: PrunedMixShift[];
}

export interface PrunedComparison {
  originalExperts: number;
  prunedExperts: number;
  layers: PrunedLayerShift[];
}

/** "5 (12.1% → 0.0%)": an expert's share in the original → in the pruned model. */
export const formatShareChange = (s: PrunedExpertShare) => `${s.expert} (${formatPercent(s.shareOriginal)} → ${formatPercent(s.sharePruned)})`;

/** Top experts listed per label and per layer's gainers. */
const TOP = 3;

/** A row of per-slot values as a row of the original's experts (removed experts at 0). */
const toOriginal = (row: readonly number[], ids: readonly number[], n: number): number[] => {
  const out = new Array<number>(n).fill(0);
  row.forEach((v, slot) => (out[ids[slot]] += v));
  return out;
};

const mapRows = (rows: Record<string, number[]>, ids: readonly number[], n: number) =>
  Object.fromEntries(Object.entries(rows).map(([name, row]) => [name, toOriginal(row, ids, n)]));

function slotIds(originalExpertIds: Record<number, number[]>, layer: number, experts: number, original: number): number[] {
  const ids = originalExpertIds[layer];
  if (!Array.isArray(ids) || ids.length !== experts || new Set(ids).size !== experts || !ids.every((id) => Number.isInteger(id) && id >= 0 && id < original))
    throw new RangeError(`the pruned model's original ids of layer ${layer} do not map its ${experts} experts into the original's ${original}`);
  return ids;
}

/** The pruned model's report with every layer's and card's expert named by its original id (removed experts at 0, no card). */
export function toOriginalIds(pruned: AtlasReport, originalExpertIds: Record<number, number[]>, originalExperts: number): AtlasReport {
  const n = originalExperts;
  const idsOf = new Map(pruned.layers.map((l) => [l.layer, slotIds(originalExpertIds, l.layer, pruned.experts, n)]));
  const layers = pruned.layers.map((l): AtlasLayer => {
    const ids = idsOf.get(l.layer)!;
    const totals = new Array<number>(n).fill(0);
    for (const row of Object.values(l.countsTopK)) row.forEach((v, slot) => (totals[ids[slot]] += v));
    return {
      ...l,
      counts: mapRows(l.counts, ids, n),
      countsTopK: mapRows(l.countsTopK, ids, n),
      classCounts: mapRows(l.classCounts, ids, n),
      load: loadBalance(totals),
      coactivation: l.coactivation.map((p) => ({ ...p, a: Math.min(ids[p.a], ids[p.b]), b: Math.max(ids[p.a], ids[p.b]) })),
    };
  });
  return { ...pruned, experts: n, layers, cards: pruned.cards.map((c) => ({ ...c, expert: idsOf.get(c.layer)?.[c.expert] ?? c.expert })) };
}

const top = (row: readonly number[]) =>
  row
    .map((v, e) => [v, e])
    .filter(([v]) => v > 0)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, TOP)
    .map(([, e]) => e);

function mixShifts(a: Record<string, number[]>, b: Record<string, number[]>, removed: ReadonlySet<number>): PrunedMixShift[] {
  const out: PrunedMixShift[] = [];
  for (const [name, rowA] of Object.entries(a)) {
    const rowB = b[name];
    const total = rowA.reduce((s, v) => s + v, 0);
    if (!rowB || !(total > 0) || !rowB.some((v) => v > 0)) continue;
    out.push({
      name,
      js: jensenShannon(rowA, rowB),
      topOriginal: top(rowA),
      topPruned: top(rowB),
      removedShare: rowA.reduce((s, v, e) => s + (removed.has(e) ? v : 0), 0) / total,
    });
  }
  return out.sort((x, y) => y.js - x.js);
}

/**
 * The atlas of `pruned` (a model `moe-lens prune` wrote from the model of `original`) against `original`'s, per MoE
 * layer in original ids. `originalExpertIds`: per model layer id, the original id of each of the pruned model's slots.
 */
export function compareAcrossPruning(original: AtlasReport, pruned: AtlasReport, originalExpertIds: Record<number, number[]>): PrunedComparison {
  const layersA = original.layers.map((l) => l.layer).join();
  const layersB = pruned.layers.map((l) => l.layer).join();
  if (layersA !== layersB) throw new RangeError(`the atlases cover other MoE layers (${layersA} and ${layersB}): not a model and its pruned copy`);
  if (!(pruned.experts < original.experts))
    throw new RangeError(`the pruned atlas has ${pruned.experts} experts per layer, not fewer than the original's ${original.experts}`);
  const mapped = toOriginalIds(pruned, originalExpertIds, original.experts);
  const shifts = compareAtlases(original, mapped);
  return {
    originalExperts: original.experts,
    prunedExperts: pruned.experts,
    layers: shifts.map((shift, i) => {
      const a = original.layers[i];
      const b = mapped.layers[i];
      const kept = new Set(originalExpertIds[a.layer]);
      const share = (e: number): PrunedExpertShare => ({ expert: e, shareOriginal: a.load.shares[e], sharePruned: b.load.shares[e] });
      const all = a.load.shares.map((_, e) => share(e));
      const removed = all.filter((s) => !kept.has(s.expert)).sort((x, y) => y.shareOriginal - x.shareOriginal);
      const gained = all
        .filter((s) => kept.has(s.expert) && s.sharePruned > s.shareOriginal)
        .sort((x, y) => y.sharePruned - y.shareOriginal - (x.sharePruned - x.shareOriginal))
        .slice(0, TOP);
      const removedIds = new Set(removed.map((s) => s.expert));
      return {
        ...shift,
        removed,
        removedShare: removed.reduce((s, r) => s + r.shareOriginal, 0),
        gained,
        labels: mixShifts(a.counts, b.counts, removedIds),
        classes: mixShifts(a.classCounts, b.classCounts, removedIds),
      };
    }),
  };
}

/** An atlas with its model's name and, for a pruned model, its original ids (what atlas.json holds). */
export type NamedAtlas = AtlasReport & PrunedIds & { model: string };
/** What pairAtlases reads of an atlas (a loaded model's routing gives it before its atlas is built). */
export type AtlasIdentity = Pick<NamedAtlas, 'model' | 'experts' | 'originalExpertIds' | 'originalExperts'> & { layers: readonly { layer: number }[] };

const describeAtlas = (a: AtlasIdentity) =>
  `${a.model} (${formatNoun(a.layers.length, 'MoE layer')} × ${formatNoun(a.experts, 'expert')}${a.originalExperts !== undefined ? `, pruned from ${a.originalExperts}` : ''})`;

/** Whether `pruned` is of a model pruned from `original`'s: same name and MoE layers, its original count theirs. */
const isPrunedFrom = (pruned: AtlasIdentity, original: AtlasIdentity) =>
  pruned.originalExpertIds !== undefined &&
  pruned.originalExperts === original.experts &&
  original.originalExpertIds === undefined &&
  pruned.model === original.model &&
  pruned.layers.map((l) => l.layer).join() === original.layers.map((l) => l.layer).join();

/**
 * How two atlases compare: `same` shape (compareAtlases), one of a model `pruned` from the other's (compareAcrossPruning,
 * either order), or `unrelated` with the reason in one line.
 */
export function pairAtlases<T extends AtlasIdentity>(
  a: T,
  b: T,
): { kind: 'same' } | { kind: 'pruned'; original: T; pruned: T; originalExpertIds: Record<number, number[]> } | { kind: 'unrelated'; reason: string } {
  if (a.experts === b.experts && a.layers.length === b.layers.length) return { kind: 'same' };
  for (const [original, pruned] of [[a, b], [b, a]])
    if (isPrunedFrom(pruned, original)) return { kind: 'pruned', original, pruned, originalExpertIds: pruned.originalExpertIds! };
  return { kind: 'unrelated', reason: `the atlases are of different models: ${describeAtlas(a)} and ${describeAtlas(b)}, neither pruned from the other` };
}

/**
 * The comparison of `pruned`'s atlas with the latest of `built` (atlases over the same corpus, oldest first) that is
 * of the model it was pruned from; undefined when `pruned` is not a pruned model's or none is.
 */
export function comparisonWithOriginal(pruned: NamedAtlas, built: readonly NamedAtlas[]): { comparison: PrunedComparison; original: string } | undefined {
  if (!pruned.originalExpertIds) return undefined;
  for (let i = built.length - 1; i >= 0; i--) {
    const pair = pairAtlases(built[i], pruned);
    if (pair.kind === 'pruned' && pair.original === built[i])
      return { comparison: compareAcrossPruning(pair.original, pair.pruned, pair.originalExpertIds), original: built[i].model };
  }
  return undefined;
}
