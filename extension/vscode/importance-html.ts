// The Expert importance panel: a layer × expert heat map of Δ perplexity (each expert ablated alone) beside the
// REAP scores and routing shares, as plain escaped HTML with no script (no vscode import). Colours are classes
// (the CSP allows no style attributes): ten buckets of |Δ| relative to the largest, red where ablating hurts.
import type { ImportanceResult } from '../engine/importance';
import { formatDecimal, formatDelta, formatDuration, formatPercent, formatPerplexity } from '../format';
import { buildPage, escapeHtml } from './html';

const BUCKETS = 10;

function bucket(value: number, max: number): number {
  return max > 0 && Number.isFinite(value) ? Math.min(BUCKETS - 1, Math.floor((Math.abs(value) / max) * BUCKETS)) : 0;
}

function grid(r: ImportanceResult, rows: number[][], cell: (v: number) => string, testid: string, signed: boolean): string {
  const max = Math.max(0, ...rows.flat().filter(Number.isFinite).map(Math.abs));
  const head = `<tr><th scope="col">layer \\ expert</th>${Array.from({ length: r.experts }, (_, e) => `<th scope="col">${e}</th>`).join('')}</tr>`;
  const body = rows
    .map((row, i) => {
      const cells = row
        .map((v, e) => {
          const cls = `${signed && v < 0 ? 'n' : 'p'}${bucket(v, max)}`;
          const label = `layer ${r.layers[i]}, expert ${e}: ${cell(v)}`;
          return `<td class="${cls}" data-layer="${r.layers[i]}" data-expert="${e}" data-value="${escapeHtml(v)}" title="${escapeHtml(label)}">${escapeHtml(cell(v))}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${escapeHtml(r.layers[i])}</th>${cells}</tr>`;
    })
    .join('');
  return `<table class="heat" data-testid="${testid}">${head}${body}</table>`;
}

export function importanceBody(r: ImportanceResult, source: string): string {
  const b = r.baseline;
  return `<main>
<h1>Expert importance: ${escapeHtml(r.model)}</h1>
<p class="source" data-testid="importance-summary">${escapeHtml(source)}: baseline perplexity ${escapeHtml(formatPerplexity(b.perplexity))} ± ${escapeHtml(formatPerplexity(b.stderr))}
over ${escapeHtml(b.chunks)} chunks of ${escapeHtml(b.context)} tokens (llama-perplexity's definition); ${escapeHtml(r.evaluations)} chunk evaluations, ${escapeHtml(r.reused)} reused, ${escapeHtml(formatDuration(r.ms))}.</p>
<section><h2>Δ perplexity with the expert ablated alone</h2>
<p class="hint">Red: perplexity rises without the expert (it matters for this text); blue: it falls.</p>
${grid(r, r.deltaPerplexity, (v) => formatDelta(v), 'importance-delta', true)}</section>
<section><h2>REAP score</h2>
<p class="hint">Mean over the tokens routed to the expert of gate weight × the norm of its output (the cheap estimate of the same thing).</p>
${grid(r, r.reap, (v) => formatDecimal(v, 3), 'importance-reap', false)}</section>
<section><h2>Share of routed slots</h2>
${grid(r, r.share, (v) => formatPercent(v), 'importance-share', false)}</section>
</main>`;
}

function css(): string {
  const shades: string[] = [];
  for (let i = 0; i < BUCKETS; i++) {
    const a = ((i + 0.5) / BUCKETS) * 0.85;
    shades.push(`.p${i} { background: rgba(220, 60, 60, ${a.toFixed(3)}); } .n${i} { background: rgba(60, 120, 220, ${a.toFixed(3)}); }`);
  }
  return `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1.2em 2em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
.source, .hint { color: var(--vscode-descriptionForeground); }
table.heat { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.heat th, table.heat td { padding: 3px 8px; text-align: right; border: 1px solid var(--vscode-panel-border, transparent); }
${shades.join('\n')}
`;
}

export function importancePage(r: ImportanceResult, source: string, cspSource: string, nonce: string): string {
  return buildPage({ cspSource, nonce, title: 'MoE Lens — expert importance', body: importanceBody(r, source), inlineStyle: css() });
}
