// The Routing Atlas tab: specialisation per layer against its chance band (SVG), label × expert and class × expert
// heat maps, expert cards (<details>, opened from a heat-map cell), example contexts that open their source, and
// export buttons. Escaped HTML; one small nonce'd script posts clicks to the host. No vscode import.
import { expertLabel, originalId, type PrunedIds } from '../engine/original-experts';
import { formatCount, formatDecimal, formatNoun, formatPercent, MISSING } from '../format';
import type { AtlasCard, AtlasLayer } from '../routing/atlas';
import { formatShareChange, type PrunedComparison, type PrunedMixShift } from '../routing/atlas-pruned';
import type { AtlasResult } from '../routing/atlas-run';
import { buildPage, escapeHtml } from './html';

const BUCKETS = 10;
const bucket = (share: number) => (share > 0 ? Math.min(BUCKETS - 1, Math.floor(share * BUCKETS)) : -1);
const bits = (v: number) => formatDecimal(v, 3);
/** A token's text shown whole: whitespace made visible. */
const visible = (text: string) => JSON.stringify(text).slice(1, -1);

/** The example files the page may ask to open, by index (the host opens only these). */
export function atlasExampleFiles(result: AtlasResult): string[] {
  const files = new Set<string>();
  for (const card of result.cards) for (const ex of card.examples) if (ex.file) files.add(ex.file);
  return [...files];
}

function specialisationChart(layers: AtlasLayer[]): string {
  const max = Math.max(1e-9, ...layers.flatMap((l) => [l.miBits, l.chanceHighBits]));
  const rowH = 22;
  const left = 70;
  const width = 300;
  const scale = (v: number) => left + (v / max) * width;
  const rows = layers
    .map((l, i) => {
      const y = i * rowH + 4;
      const above = l.pValue <= 0.05 && l.miBits > l.chanceHighBits;
      return (
        `<g data-testid="atlas-layer-row" data-layer="${l.layer}"><title>${escapeHtml(`layer ${l.layer}: ${bits(l.miBits)} bits; chance ${bits(l.chanceBits)} (95%: ${bits(l.chanceHighBits)}); p = ${formatDecimal(l.pValue, 3)}`)}</title>` +
        `<text x="0" y="${y + 13}" class="lbl">layer ${escapeHtml(l.layer)}</text>` +
        `<rect x="${left}" y="${y}" width="${scale(l.chanceHighBits) - left}" height="16" class="band"/>` +
        `<rect x="${left}" y="${y + 4}" width="${Math.max(1, scale(l.miBits) - left)}" height="8" class="${above ? 'bar above' : 'bar'}"/>` +
        `<line x1="${scale(l.chanceBits)}" x2="${scale(l.chanceBits)}" y1="${y}" y2="${y + 16}" class="chance"/>` +
        `<text x="${left + width + 8}" y="${y + 13}" class="lbl">${bits(l.miBits)} bits, p ${formatDecimal(l.pValue, 3)}</text></g>`
      );
    })
    .join('');
  return (
    `<svg class="chart" data-testid="atlas-chart" viewBox="0 0 ${left + width + 150} ${layers.length * rowH + 8}" role="img" aria-label="specialisation per layer against chance">${rows}</svg>` +
    `<p class="legend"><span class="key bar"></span> I(label; top-1 expert) <span class="key band"></span> chance band (0 to the 95th percentile of ${'the label permutations'}), line: its mean; <span class="key above"></span> above chance (p ≤ 0.05)</p>`
  );
}

/** Rows (labels or classes) × experts: each cell the row's share going to the expert (p(expert | row)). */
function heatMap(layer: AtlasLayer, rows: Record<string, number[]>, testid: string, kind: string, ids: PrunedIds): string {
  const E = layer.load.shares.length;
  const id = (e: number) => originalId(ids, layer.layer, e);
  const head = `<tr><th scope="col">${escapeHtml(kind)} \\ expert</th>${Array.from({ length: E }, (_, e) => `<th scope="col">${id(e)}</th>`).join('')}</tr>`;
  const body = Object.entries(rows)
    .filter(([, counts]) => counts.some((c) => c > 0))
    .map(([name, counts]) => {
      const total = counts.reduce((s, c) => s + c, 0);
      const cells = counts
        .map((c, e) => {
          const share = total ? c / total : 0;
          return `<td class="h${bucket(share)}" data-card="${layer.layer}-${e}" title="${escapeHtml(`layer ${layer.layer}, ${name} → ${expertLabel(ids, layer.layer, e)}: ${c} of ${total} (${formatPercent(share)})`)}">${escapeHtml(formatPercent(share, 0))}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${escapeHtml(name)}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="heat" data-testid="${testid}" data-layer="${layer.layer}">${head}${body}</table>`;
}

function mix(values: Record<string, number>): string {
  const total = Object.values(values).reduce((s, v) => s + v, 0);
  return (
    Object.entries(values)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([name, v]) => `${escapeHtml(name)} ${formatPercent(v / total, 0)}`)
      .join(', ') || MISSING
  );
}

function card(c: AtlasCard, files: Map<string, number>, ids: PrunedIds): string {
  const tokens = (list: AtlasCard['byCount']) =>
    list.map((t) => `<code title="${escapeHtml(`${t.count}×, mean gate weight ${formatDecimal(t.meanWeight, 2)}`)}">${escapeHtml(visible(t.text))}</code>`).join(' ') || MISSING;
  const examples = c.examples
    .map((ex) => {
      const where = ex.file ? `${ex.file.split(/[\\/]/).pop()}:${ex.line}` : ex.item;
      const link =
        ex.file && files.has(ex.file)
          ? `<a href="#" class="src" data-file="${files.get(ex.file)}" data-line="${ex.line}">${escapeHtml(where)}</a>`
          : escapeHtml(where);
      return `<li>${link} <span class="ctx">${escapeHtml(ex.before)}<mark>${escapeHtml(ex.token)}</mark>${escapeHtml(ex.after)}</span></li>`;
    })
    .join('');
  return (
    `<details class="card" id="card-${c.layer}-${c.expert}" data-testid="atlas-card" data-layer="${c.layer}" data-expert="${c.expert}">` +
    `<summary>Layer ${escapeHtml(c.layer)}, ${expertLabel(ids, c.layer, c.expert)}: ${formatPercent(c.share)} of the load; ${mix(c.labelMix)}</summary>` +
    `<dl><dt>Top tokens</dt><dd>${tokens(c.byCount)}</dd><dt>By gate weight</dt><dd>${tokens(c.byWeight)}</dd>` +
    `<dt>Labels (top-1)</dt><dd>${mix(c.labelMix)}</dd><dt>Token classes</dt><dd>${mix(c.classMix)}</dd>` +
    `<dt>Mean gate weight</dt><dd>${formatDecimal(c.meanWeight, 2)}</dd></dl>` +
    `<ul class="examples">${examples}</ul></details>`
  );
}

const mixChange = (m: PrunedMixShift) =>
  `${escapeHtml(m.name)}: ${m.topOriginal.join(', ') || MISSING} → ${m.topPruned.join(', ') || MISSING} (JS ${bits(m.js)}${m.removedShare > 0 ? `, ${formatPercent(m.removedShare, 0)} had gone to removed experts` : ''})`;

/**
 * The atlas of a pruned model against its original's (compareAcrossPruning), experts by their ORIGINAL ids: per MoE
 * layer the load shift, the removed experts, where their traffic went, and the labels and token classes whose top
 * experts changed most. `names`: the two models as the page names them (escaped here).
 */
export function prunedComparisonHtml(comparison: PrunedComparison, names: { original: string; pruned: string }): string {
  const rows = comparison.layers
    .map(
      (l) =>
        `<tr data-testid="atlas-pruned-layer" data-layer="${escapeHtml(l.layer)}"><th scope="row">${escapeHtml(l.layer)}</th>` +
        `<td>${bits(l.loadJs)}</td>` +
        `<td data-testid="atlas-pruned-removed">${l.removed.map(formatShareChange).join(', ') || MISSING}; ${formatPercent(l.removedShare)} in all</td>` +
        `<td data-testid="atlas-pruned-gained">${l.gained.map(formatShareChange).join(', ') || MISSING}</td>` +
        `<td>${l.labels.slice(0, 3).map(mixChange).join('<br>') || MISSING}</td>` +
        `<td>${l.classes.slice(0, 2).map(mixChange).join('<br>') || MISSING}</td></tr>`,
    )
    .join('');
  return (
    `<section data-testid="atlas-pruned-compare"><h2>Pruned: ${escapeHtml(names.pruned)} against its original ${escapeHtml(names.original)}</h2>` +
    `<p>${comparison.originalExperts} experts per layer pruned to ${comparison.prunedExperts}; experts are named by their original ids, ` +
    `shares are of each layer's top-k selections (original → pruned); load shift is the Jensen–Shannon divergence (bits) between the two loads.</p>` +
    `<div class="scroll"><table class="cmp"><tr><th scope="col">Layer</th><th scope="col">Load shift</th><th scope="col">Removed (share)</th>` +
    `<th scope="col">Their traffic went to</th><th scope="col">Labels: top experts</th><th scope="col">Token classes: top experts</th></tr>${rows}</table></div></section>`
  );
}

const STYLE = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 12px 24px; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
.chart { width: 100%; max-width: 640px; }
.chart .lbl { fill: var(--vscode-foreground); font-size: 11px; }
.chart .band, .key.band { fill: var(--vscode-editorWidget-border, #8884); background: var(--vscode-editorWidget-border, #8884); }
.chart .bar, .key.bar { fill: var(--vscode-charts-blue, #3794ff); background: var(--vscode-charts-blue, #3794ff); }
.chart .bar.above, .key.above { fill: var(--vscode-charts-green, #89d185); background: var(--vscode-charts-green, #89d185); }
.chart .chance { stroke: var(--vscode-foreground); stroke-width: 1.5; }
.key { display: inline-block; width: 12px; height: 10px; margin: 0 2px 0 8px; }
.legend { font-size: 0.9em; opacity: 0.85; }
.scroll { overflow-x: auto; }
table.heat { border-collapse: collapse; margin: 6px 0 12px; font-size: 0.85em; }
table.heat th, table.heat td { padding: 2px 6px; text-align: right; border: 1px solid var(--vscode-editorWidget-border, #8884); }
table.heat td { cursor: pointer; min-width: 2.4em; }
${Array.from({ length: BUCKETS }, (_, i) => `.h${i} { background: rgba(55, 148, 255, ${((i + 1) / BUCKETS) * 0.85}); }`).join('\n')}
.card { margin: 4px 0; border: 1px solid var(--vscode-editorWidget-border, #8884); padding: 4px 8px; }
.card summary { cursor: pointer; }
.card dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
.card dt { opacity: 0.8; } .card dd { margin: 0; overflow-wrap: anywhere; }
.examples { padding-left: 16px; } .ctx { font-family: var(--vscode-editor-font-family); white-space: pre-wrap; }
mark { background: var(--vscode-editor-findMatchBackground, #ea5c0080); outline: 1px solid var(--vscode-editor-findMatchBorder, #ea5c00); color: inherit; }
button { margin-right: 6px; }
table.cmp { border-collapse: collapse; font-size: 0.9em; } table.cmp th, table.cmp td { padding: 3px 8px; border: 1px solid var(--vscode-editorWidget-border, #8884); text-align: left; vertical-align: top; }
`;

const SCRIPT = `
const vscode = acquireVsCodeApi();
document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const source = target && target.closest('a.src');
  if (source) { event.preventDefault(); vscode.postMessage({ type: 'open', file: Number(source.dataset.file), line: Number(source.dataset.line) }); return; }
  const cell = target && target.closest('[data-card]');
  if (cell) { const card = document.getElementById('card-' + cell.dataset.card); if (card) { card.open = true; card.scrollIntoView({ block: 'nearest' }); } return; }
  const exp = target && target.closest('button[data-export]');
  if (exp) vscode.postMessage({ type: 'export', format: exp.dataset.export });
});
`;

/** `pruned`: the comparison with the original's atlas when `result` is a pruned model's (shown after the summary). */
export function atlasPage(result: AtlasResult, source: string, cspSource: string, nonce: string, pruned?: { comparison: PrunedComparison; original: string }): string {
  const files = new Map(atlasExampleFiles(result).map((f, i) => [f, i]));
  const ids: PrunedIds = result;
  const layers = result.layers
    .map(
      (l) =>
        `<h3>Layer ${escapeHtml(l.layer)}: ${bits(l.miBits)} bits (chance ${bits(l.chanceBits)}, p ${formatDecimal(l.pValue, 3)}), load entropy ${formatPercent(l.load.normalizedEntropy)}</h3>` +
        `<div class="scroll">${heatMap(l, l.counts, 'atlas-label-heat', 'label', ids)}${heatMap(l, l.classCounts, 'atlas-class-heat', 'class', ids)}</div>` +
        (l.coactivation.length
          ? `<p>Chosen together most above independence: ${l.coactivation
              .slice(0, 5)
              .map((p) => `${originalId(ids, l.layer, p.a)}+${originalId(ids, l.layer, p.b)} (${formatDecimal(p.lift, 2)}×)`)
              .join(', ')}</p>`
          : ''),
    )
    .join('');
  const body =
    `<h1>Routing atlas: ${escapeHtml(result.model)}</h1>` +
    `<p data-testid="atlas-summary">${escapeHtml(source)}: ${formatNoun(result.items, 'item')}, ${formatCount(result.tokens)} tokens, labels ${result.labels.map(escapeHtml).join(', ')}; ` +
    `${formatNoun(result.skipped, 'input')} skipped; ${result.experts} experts${result.originalExperts !== undefined ? ` (pruned from ${result.originalExperts}; named by their original ids)` : ''}, top-${result.expertsPerToken}; chance from ${formatNoun(result.permutations, 'label permutation')}.</p>` +
    `<p><button data-export="json">Export JSON</button><button data-export="csv">Export CSV</button><button data-export="md">Export report (markdown)</button></p>` +
    (pruned ? prunedComparisonHtml(pruned.comparison, { original: pruned.original, pruned: result.model }) : '') +
    `<h2>Specialisation per layer</h2>${specialisationChart(result.layers)}` +
    `<h2>Label × expert and token class × expert (share of each row's top-1 choices; click a cell for the expert's card)</h2>${layers}` +
    `<h2>Expert cards</h2>${result.cards.map((c) => card(c, files, ids)).join('')}`;
  return buildPage({ cspSource, nonce, title: 'Routing atlas', body, inlineStyle: STYLE, inlineScript: SCRIPT });
}
