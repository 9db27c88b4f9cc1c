// The atlas as files: the JSON summary (what `moe-lens atlas --json` prints), a CSV of the counts and a markdown
// report with the figures. Pure: no vscode, no Node.
import { originalId } from '../engine/original-experts';
import { formatCount, formatDecimal, formatNoun, formatPercent, MISSING } from '../format';
import { describeSkip, type AtlasResult } from './atlas-run';
import { csvField } from './export';

/** The summary: everything but the expert cards (those are in atlas.json). */
export function atlasSummary(result: AtlasResult): Omit<AtlasResult, 'cards'> {
  const { cards: _cards, ...summary } = result;
  return summary;
}

export const ATLAS_CSV_HEADER = 'layer,kind,name,expert,top1,topk';

/** One row per (layer, label, expert) with top-1 and top-k counts, then per (layer, token class, expert) top-1. */
export function atlasCsv(result: AtlasResult): string {
  const rows = [ATLAS_CSV_HEADER];
  for (const layer of result.layers) {
    for (const label of result.labels)
      layer.counts[label].forEach((n, e) => rows.push([layer.layer, 'label', csvField(label), e, n, layer.countsTopK[label][e]].join(',')));
    for (const cls of result.classes) layer.classCounts[cls].forEach((n, e) => rows.push([layer.layer, 'class', cls, e, n, ''].join(',')));
  }
  return rows.join('\n') + '\n';
}

const bits = (v: number) => formatDecimal(v, 3);
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '⏎');

/** A markdown report: the corpus, specialisation per layer against chance, load, co-activation, layer to layer. */
export function atlasMarkdown(result: AtlasResult): string {
  const out: string[] = [];
  // A pruned model's experts are shown by their original ids (the slots stay the keys).
  const id = (layer: number, e: number) => originalId(result, layer, e);
  out.push(`# Routing atlas: ${result.model}`, '');
  out.push(
    `${formatNoun(result.items, 'item')} (${formatCount(result.tokens)} tokens, at most ${result.maxItemTokens} per item${result.truncatedItems ? `, ${result.truncatedItems} cut` : ''}), ` +
      `${formatNoun(result.skipped, 'input')} skipped; ${result.experts} experts${result.originalExperts !== undefined ? ` (pruned from ${result.originalExperts}; named by their original ids)` : ''}, top-${result.expertsPerToken}; ` +
      `chance from ${formatNoun(result.permutations, 'label permutation')} (seed ${result.seed}).`,
    '',
  );
  out.push('| label | tokens |', '|---|---|');
  for (const label of result.labels) out.push(`| ${cell(label)} | ${result.labelTokens[label]} |`);
  out.push('', '## Specialisation: I(label; top-1 expert)', '');
  out.push('| layer | MI (bits) | chance (bits) | chance 95% (bits) | p | normalised | class MI (bits) | class chance | load entropy | underloaded |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const l of result.layers)
    out.push(
      `| ${l.layer} | ${bits(l.miBits)} | ${bits(l.chanceBits)} | ${bits(l.chanceHighBits)} | ${formatDecimal(l.pValue, 3)} | ${formatPercent(l.normalizedMi)} | ` +
        `${bits(l.classMiBits)} | ${bits(l.classChanceBits)} | ${formatPercent(l.load.normalizedEntropy)} | ${l.load.underloaded.map((e) => id(l.layer, e)).join(', ') || MISSING} |`,
    );
  if (result.layers.some((l) => l.coactivation.length)) {
    out.push('', '## Co-activation: most over-represented pairs', '');
    out.push('| layer | pairs (lift) |', '|---|---|');
    for (const l of result.layers)
      out.push(`| ${l.layer} | ${l.coactivation.slice(0, 5).map((p) => `${id(l.layer, p.a)}+${id(l.layer, p.b)} (${formatDecimal(p.lift, 2)}×)`).join(', ') || MISSING} |`);
  }
  if (result.layerToLayer.length) {
    out.push('', '## Layer to layer: I(top-1 at l; top-1 at l+1)', '');
    out.push('| from | to | MI (bits) | normalised |', '|---|---|---|---|');
    for (const link of result.layerToLayer) out.push(`| ${link.from} | ${link.to} | ${bits(link.miBits)} | ${formatPercent(link.normalizedMi)} |`);
  }
  out.push('', '## Experts: top label and top tokens', '');
  out.push('| layer | expert | load | top label | top tokens |', '|---|---|---|---|---|');
  for (const card of result.cards) {
    const top = Object.entries(card.labelMix).sort((a, b) => b[1] - a[1])[0];
    const total = Object.values(card.labelMix).reduce((s, v) => s + v, 0);
    out.push(
      `| ${card.layer} | ${id(card.layer, card.expert)} | ${formatPercent(card.share)} | ${top ? `${cell(top[0])} (${formatPercent(top[1] / total, 0)})` : MISSING} | ` +
        `${card.byCount.slice(0, 6).map((t) => `\`${cell(JSON.stringify(t.text).slice(1, -1))}\``).join(' ')} |`,
    );
  }
  if (result.skippedInputs.length) {
    out.push('', '## Skipped', '');
    for (const s of result.skippedInputs) out.push(`- ${cell(describeSkip(s))}`);
  }
  return out.join('\n') + '\n';
}
