// The Expert importance panel: a layer × expert heat map of Δ perplexity (each expert ablated alone) beside the
// REAP scores and routing shares, as plain escaped HTML with no script (no vscode import). Colours are classes
// (the CSP allows no style attributes), one meaning per map, each with its legend: Δ on a diverging scale (red:
// worse without the expert, blue: better without it, ten buckets of |Δ| relative to the largest) and grey where the
// change is within noise (its 95% interval contains 0); REAP and shares on a sequential green scale (how busy).
import { noiseReason, type ImportanceResult } from '../engine/importance';
import { formatDecimal, formatDelta, formatDuration, formatPercent, formatPerplexity } from '../format';
import { buildPage, escapeHtml } from './html';

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

function grid(r: ImportanceResult, testid: string, cell: (i: number, e: number) => Cell): string {
  const head = `<tr><th scope="col">layer \\ expert</th>${Array.from({ length: r.experts }, (_, e) => `<th scope="col">${e}</th>`).join('')}</tr>`;
  const body = r.layers
    .map((layer, i) => {
      const cells = Array.from({ length: r.experts }, (_, e) => {
        const c = cell(i, e);
        const data = Object.entries(c.data ?? {})
          .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
          .join('');
        return `<td class="${c.cls}" data-layer="${layer}" data-expert="${e}"${data} title="${escapeHtml(`layer ${layer}, expert ${e}: ${c.title}`)}">${escapeHtml(c.text)}</td>`;
      }).join('');
      return `<tr><th scope="row">${escapeHtml(layer)}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="heat" data-testid="${testid}">${head}${body}</table>`;
}

const maxAbs = (rows: number[][]) => Math.max(0, ...rows.flat().filter(Number.isFinite).map(Math.abs));

function deltaGrid(r: ImportanceResult): string {
  // Buckets relative to the largest change beyond noise, so noise cannot stretch the scale.
  const max = maxAbs(r.deltaPerplexity.map((row, i) => row.filter((_, e) => r.significant[i][e])));
  const level = formatPercent(r.noise.level, 0);
  return grid(r, 'importance-delta', (i, e) => {
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

function loadGrid(r: ImportanceResult, rows: number[][], testid: string, format: (v: number) => string): string {
  const max = maxAbs(rows);
  return grid(r, testid, (i, e) => ({ cls: `q${bucket(rows[i][e], max)}`, text: format(rows[i][e]), title: format(rows[i][e]), data: { value: String(rows[i][e]) } }));
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

/** `again`: how to run it with more chunks, in words for this surface. */
export function importanceBody(r: ImportanceResult, source: string, again = `run it again with ${r.noise.suggestedChunks} chunks or on a longer text`): string {
  const b = r.baseline;
  const n = r.noise;
  return `<main>
<h1>Expert importance: ${escapeHtml(r.model)}</h1>
<p class="source" data-testid="importance-summary">${escapeHtml(source)}: baseline perplexity ${escapeHtml(formatPerplexity(b.perplexity))} ± ${escapeHtml(formatPerplexity(b.stderr))}
over ${escapeHtml(b.chunks)} chunks of ${escapeHtml(b.context)} tokens (llama-perplexity's definition); ${escapeHtml(r.evaluations)} chunk evaluations, ${escapeHtml(r.reused)} reused, ${escapeHtml(formatDuration(r.ms))}.</p>
${noiseHint(r, again)}
<section><h2>Δ perplexity with the expert ablated alone</h2>
<p class="hint">Each change has a ${escapeHtml(formatPercent(n.level, 0))} interval from its spread over the ${escapeHtml(n.chunks)} chunks (paired: the same chunk with and without the expert; Student t). ${escapeHtml(n.withinNoise)} of ${escapeHtml(n.cells)} are within noise. Hover a cell for its interval.</p>
${deltaLegend()}
${deltaGrid(r)}</section>
<section><h2>REAP score</h2>
<p class="hint">Mean over the tokens routed to the expert of gate weight × the norm of its output (the cheap estimate of the same thing).</p>
${loadLegend('REAP score')}
${loadGrid(r, r.reap, 'importance-reap', (v) => formatDecimal(v, 3))}</section>
<section><h2>Share of routed slots</h2>
${loadLegend('how busy: share of the routed slots')}
${loadGrid(r, r.share, 'importance-share', (v) => formatPercent(v))}</section>
</main>`;
}

function css(): string {
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
`;
}

export function importancePage(r: ImportanceResult, source: string, cspSource: string, nonce: string, again?: string): string {
  return buildPage({ cspSource, nonce, title: 'MoE Lens — expert importance', body: importanceBody(r, source, again), inlineStyle: css() });
}
