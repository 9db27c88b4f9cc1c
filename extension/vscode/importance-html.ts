// The Expert importance panel: a layer × expert heat map of Δ perplexity (each expert ablated alone) beside the
// REAP scores and routing shares, as escaped HTML (no vscode import), and "Prune by this map": a budget and a map to
// follow, the experts that would go marked in that map and listed per layer, the new size and fit, and a button. Every
// plan is rendered up front; a tiny nonce'd script only sets the chosen map and budget on <main> (CSS shows that
// plan and marks its cells) and posts the choice to the host. Colours are classes
// (the CSP allows no style attributes), one meaning per map, each with its legend: Δ on a diverging scale (red:
// worse without the expert, blue: better without it, ten buckets of |Δ| relative to the largest) and grey where the
// change is within noise (its 95% interval contains 0); REAP and shares on a sequential green scale (how busy).
import { noiseReason, type ImportanceResult } from '../engine/importance';
import { formatBytes, formatDecimal, formatDelta, formatDuration, formatNoun, formatPercent, formatPerplexity } from '../format';
import { buildPage, escapeHtml } from './html';
import { PRUNE_BY, PRUNE_BY_IDS, type ImportancePrune, type PruneBy } from './importance-prune';

const BUCKETS = 10;

function bucket(value: number, max: number): number {
  return max > 0 && Number.isFinite(value) ? Math.min(BUCKETS - 1, Math.floor((Math.abs(value) / max) * BUCKETS)) : 0;
}

interface Cell {
  cls: string;
  text: string;
  title: string;
  data?: Record<string, string>;
}

/** Per layer slot and expert, the budgets (drops) under which the expert goes when pruning by `by`: "2 4". */
type Goes = (i: number, e: number) => string;

function goesBy(prune: ImportancePrune | undefined, by: PruneBy): Goes {
  const choices = prune && !('unavailable' in prune) ? prune.choices.filter((c) => c.by === by) : [];
  return (i, e) => choices.filter((c) => c.remove[i].includes(e)).map((c) => c.drop).join(' ');
}

function grid(r: ImportanceResult, testid: string, goes: Goes, cell: (i: number, e: number) => Cell): string {
  const head = `<tr><th scope="col">layer \\ expert</th>${Array.from({ length: r.experts }, (_, e) => `<th scope="col">${e}</th>`).join('')}</tr>`;
  const body = r.layers
    .map((layer, i) => {
      const cells = Array.from({ length: r.experts }, (_, e) => {
        const c = cell(i, e);
        const drops = goes(i, e);
        const data = Object.entries({ ...c.data, ...(drops ? { goes: drops } : {}) })
          .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
          .join('');
        return `<td class="${c.cls}" data-layer="${layer}" data-expert="${e}"${data} title="${escapeHtml(`layer ${layer}, expert ${e}: ${c.title}`)}">${escapeHtml(c.text)}</td>`;
      }).join('');
      return `<tr><th scope="row">${escapeHtml(layer)}</th>${cells}</tr>`;
    })
    .join('');
  return `<div class="scroll"><table class="heat" data-testid="${testid}">${head}${body}</table></div>`;
}

const maxAbs = (rows: number[][]) => Math.max(0, ...rows.flat().filter(Number.isFinite).map(Math.abs));

function deltaGrid(r: ImportanceResult, goes: Goes): string {
  // Buckets relative to the largest change beyond noise, so noise cannot stretch the scale.
  const max = maxAbs(r.deltaPerplexity.map((row, i) => row.filter((_, e) => r.significant[i][e])));
  const level = formatPercent(r.noise.level, 0);
  return grid(r, 'importance-delta', goes, (i, e) => {
    const v = r.deltaPerplexity[i][e];
    const low = r.deltaLow[i][e];
    const high = r.deltaHigh[i][e];
    const significant = r.significant[i][e];
    const interval = Number.isFinite(low) ? `${level} interval ${formatDelta(low)} to ${formatDelta(high)}` : `no interval from one chunk`;
    return {
      cls: significant ? `${v < 0 ? 'n' : 'p'}${bucket(v, max)}` : 'noise',
      text: formatDelta(v),
      title: `Δ perplexity ${formatDelta(v)} (${interval}; ${significant ? (v > 0 ? 'worse without it' : 'better without it') : 'within noise'})`,
      data: { value: String(v), low: String(low), high: String(high), significant: String(significant) },
    };
  });
}

function loadGrid(r: ImportanceResult, rows: number[][], testid: string, goes: Goes, format: (v: number) => string): string {
  const max = maxAbs(rows);
  return grid(r, testid, goes, (i, e) => ({ cls: `q${bucket(rows[i][e], max)}`, text: format(rows[i][e]), title: format(rows[i][e]), data: { value: String(rows[i][e]) } }));
}

const swatches = (prefix: string) => Array.from({ length: BUCKETS }, (_, i) => `<span class="swatch ${prefix}${i}"></span>`).join('');

function deltaLegend(): string {
  return `<p class="legend" data-testid="importance-delta-legend">
<span class="scale">${swatches('p')}</span> worse without the expert (perplexity rises)
<span class="scale">${swatches('n')}</span> better without it (perplexity falls)
<span class="swatch noise"></span> within noise (the interval contains 0)</p>`;
}

function loadLegend(what: string): string {
  return `<p class="legend"><span class="scale">0 ${swatches('q')} largest</span> ${escapeHtml(what)}</p>`;
}

function noiseHint(r: ImportanceResult, again: string): string {
  if (!r.noise.moreChunks) return '';
  const reason = noiseReason(r.noise);
  return `<p class="notice" data-testid="importance-noise-hint">${escapeHtml(`${reason[0].toUpperCase()}${reason.slice(1)}. More chunks narrow the intervals: ${again}.`)}</p>`;
}

const HOW: Record<PruneBy, string> = {
  delta: 'the smallest change in perplexity goes first',
  reap: 'the lowest score goes first',
  share: 'the least used go first',
};

function radio(name: string, value: string, checked: boolean, label: string): string {
  return `<label><input type="radio" name="${name}" value="${escapeHtml(value)}"${checked ? ' checked' : ''}> ${escapeHtml(label)}</label>`;
}

/** "Prune by this map": the choices, every plan (CSS shows the chosen one), the button; or why it cannot. */
function pruneSection(r: ImportanceResult, prune: ImportancePrune): string {
  const head = `<section class="prune" data-testid="importance-prune"><h2>Prune by this map</h2>`;
  if ('unavailable' in prune) return `${head}<p class="notice" data-testid="importance-prune-unavailable">${escapeHtml(`Pruning: ${prune.unavailable}.`)}</p></section>`;
  const budgets = prune.budgets
    .map((b, i) => radio('prune-drop', String(b.drop), i === 0, `Drop ${b.drop} of ${prune.experts} experts per layer (${Math.round(b.share * 100)} %)`))
    .join('');
  const maps = PRUNE_BY_IDS.map((by, i) => radio('prune-by', by, i === 0, `${PRUNE_BY[by]}: ${HOW[by]}`)).join('');
  const plans = prune.choices
    .map((c) => {
      const goes = c.remove.reduce((n, experts) => n + experts.length, 0);
      const noise =
        c.withinNoise === undefined
          ? ''
          : `<p class="hint">${escapeHtml(
              `${c.withinNoise} of the ${goes} experts that go are within noise (grey): dropping them changes perplexity by no more than the chunks vary, so they are candidates to drop, but this text cannot order them among themselves; a longer text can.`,
            )}</p>`;
      return (
        `<div class="plan" data-plan="${c.by}-${c.drop}" data-testid="importance-prune-plan">` +
        `<p>${escapeHtml(`By ${PRUNE_BY[c.by]}, keep ${prune.experts - c.drop} of ${prune.experts} experts per layer. Size: ${formatBytes(prune.size)} → ${formatBytes(c.size)}. Placement: ${prune.fit} → ${c.fit}.`)}</p>` +
        noise +
        `<ul class="goes" data-testid="importance-prune-list" aria-label="${escapeHtml(`experts that go, ${formatNoun(c.remove.length, 'layer')}`)}">` +
        c.remove.map((experts, i) => `<li>${escapeHtml(`Layer ${r.layers[i]}: experts ${experts.join(', ')} go`)}</li>`).join('') +
        `</ul></div>`
      );
    })
    .join('');
  return (
    `${head}<p class="hint">${escapeHtml(`Write a copy of ${prune.model} without the experts the chosen map rates lowest in every MoE layer (the same number from each). The experts that go are framed and struck through in that map below.`)}</p>` +
    `<fieldset><legend>Budget</legend>${budgets}</fieldset><fieldset><legend>Follow the map</legend>${maps}</fieldset>${plans}` +
    `<p><button type="button" data-testid="importance-prune-button">Prune by this…</button></p></section>`
  );
}

/** `again`: how to run it with more chunks, in words for this surface. */
export function importanceBody(
  r: ImportanceResult,
  source: string,
  again = `run it again with ${r.noise.suggestedChunks} chunks or on a longer text`,
  prune?: ImportancePrune,
): string {
  const b = r.baseline;
  const n = r.noise;
  const chosen = prune && !('unavailable' in prune) ? ` data-by="delta" data-drop="${prune.budgets[0].drop}"` : '';
  return `<main${chosen}>
<h1>Expert importance: ${escapeHtml(r.model)}</h1>
<p class="source" data-testid="importance-summary">${escapeHtml(source)}: baseline perplexity ${escapeHtml(formatPerplexity(b.perplexity))} ± ${escapeHtml(formatPerplexity(b.stderr))}
over ${escapeHtml(b.chunks)} chunks of ${escapeHtml(b.context)} tokens (llama-perplexity's definition); ${escapeHtml(r.evaluations)} chunk evaluations, ${escapeHtml(r.reused)} reused, ${escapeHtml(formatDuration(r.ms))}.</p>
${noiseHint(r, again)}
${prune ? pruneSection(r, prune) : ''}
<section><h2>Δ perplexity with the expert ablated alone</h2>
<p class="hint">Each change has a ${escapeHtml(formatPercent(n.level, 0))} interval from its spread over the ${escapeHtml(n.chunks)} chunks (paired: the same chunk with and without the expert; Student t). ${escapeHtml(n.withinNoise)} of ${escapeHtml(n.cells)} are within noise. Hover a cell for its interval.</p>
${deltaLegend()}
${deltaGrid(r, goesBy(prune, 'delta'))}</section>
<section><h2>REAP score</h2>
<p class="hint">Mean over the tokens routed to the expert of gate weight × the norm of its output (the cheap estimate of the same thing).</p>
${loadLegend('REAP score')}
${loadGrid(r, r.reap, 'importance-reap', goesBy(prune, 'reap'), (v) => formatDecimal(v, 3))}</section>
<section><h2>Share of routed slots</h2>
${loadLegend('how busy: share of the routed slots')}
${loadGrid(r, r.share, 'importance-share', goesBy(prune, 'share'), (v) => formatPercent(v))}</section>
</main>`;
}

/** Shows the chosen plan and marks its experts in the chosen map: one rule per map × budget offered. */
function pruneCss(prune: ImportancePrune | undefined): string {
  if (!prune || 'unavailable' in prune) return '';
  return prune.choices
    .map(({ by, drop }) => {
      const when = `main[data-by="${by}"][data-drop="${drop}"]`;
      return `${when} .plan[data-plan="${by}-${drop}"] { display: block; }\n${when} table[data-testid="importance-${by}"] td[data-goes~="${drop}"] { box-shadow: inset 0 0 0 2px var(--vscode-editorError-foreground, #f14c4c); text-decoration: line-through; }`;
    })
    .join('\n');
}

function css(prune?: ImportancePrune): string {
  const shades: string[] = [];
  for (let i = 0; i < BUCKETS; i++) {
    // From 0.15, so the smallest change beyond noise still shows its colour beside the grey ones.
    const a = (0.15 + ((i + 0.5) / BUCKETS) * 0.7).toFixed(3);
    shades.push(`.p${i} { background: rgba(220, 60, 60, ${a}); } .n${i} { background: rgba(60, 120, 220, ${a}); } .q${i} { background: rgba(40, 160, 100, ${a}); }`);
  }
  return `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1.2em 2em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
.source, .hint, .legend { color: var(--vscode-descriptionForeground); }
.notice { border-left: 3px solid var(--vscode-editorWarning-foreground, #c90); padding: 4px 8px; }
.legend { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; }
.scale { display: inline-flex; align-items: center; gap: 0; }
.swatch { display: inline-block; width: 10px; height: 12px; border: 1px solid var(--vscode-panel-border, transparent); }
.scale .swatch { border-width: 0; }
table.heat { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.heat th, table.heat td { padding: 3px 8px; text-align: right; border: 1px solid var(--vscode-panel-border, transparent); }
.noise { background: rgba(128, 128, 128, 0.12); }
td.noise { color: var(--vscode-disabledForeground, rgba(128, 128, 128, 0.9)); }
${shades.join('\n')}
.scroll { overflow-x: auto; }
.prune fieldset { border: 1px solid var(--vscode-panel-border, rgba(128, 128, 128, 0.4)); margin: 0 0 8px; padding: 4px 8px; }
.prune label { display: block; padding: 2px 0; }
.prune .plan { display: none; }
.prune .goes { padding-left: 1.2em; margin: 4px 0; }
.prune button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 12px; cursor: pointer; }
.prune button:hover { background: var(--vscode-button-hoverBackground); }
${pruneCss(prune)}
`;
}

/** Sets the chosen map and budget on <main> (the CSS does the rest) and posts the choice when the button is pressed. */
const SCRIPT = `
const vscode = acquireVsCodeApi();
const main = document.querySelector('main');
document.addEventListener('change', (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement)) return;
  if (input.name === 'prune-by') main.dataset.by = input.value;
  if (input.name === 'prune-drop') main.dataset.drop = input.value;
});
document.querySelector('[data-testid="importance-prune-button"]').addEventListener('click', () => {
  vscode.postMessage({ type: 'prune', by: main.dataset.by, drop: Number(main.dataset.drop) });
});
main.dataset.ready = 'true';
`;

/** `prune`: the "Prune by this map" section (absent: no section); the page has a script only when it offers plans. */
export function importancePage(r: ImportanceResult, source: string, cspSource: string, nonce: string, again?: string, prune?: ImportancePrune): string {
  return buildPage({ cspSource, nonce, title: 'MoE Lens — expert importance', body: importanceBody(r, source, again, prune), inlineStyle: css(prune), inlineScript: prune && !('unavailable' in prune) ? SCRIPT : undefined });
}
