// The "Pruned vs original" tab: perplexity (± stderr) on the text, decode speed, file size and placement of the
// original and the pruned model side by side with pruned ÷ original, the experts removed per layer, an optional
// section comparing their routing atlases, and buttons that post to the host. Escaped HTML; one small nonce'd script.
// No vscode import.
import { formatBytes, formatDecimal, formatPerplexity, formatTokensPerSecond, MISSING } from '../format';
import type { ModelMeasurement } from '../engine/prune-measure';
import { buildPage, escapeHtml } from './html';

export interface PruneCompareView {
  originalName: string;
  prunedName: string;
  /** What the perplexity was measured on (a file name); absent without a text. */
  textSource?: string;
  original: ModelMeasurement;
  pruned: ModelMeasurement;
  /** Where the weights live (fitVerdict), before → after. */
  fitBefore: string;
  fitAfter: string;
  /** The experts that went, one line per layer (describePlan). */
  removed: string[];
  /** Offer Write another… (a pruning just written; not for a pruned model compared from the palette). */
  again?: boolean;
  /** Trusted, already-escaped markup comparing the two routing atlases. */
  atlasSection?: string;
}

/** What the page's buttons post. */
export type PruneCompareMessage = { type: 'load' } | { type: 'again' };

const ratio = (pruned: number | undefined, original: number | undefined) =>
  pruned === undefined || original === undefined || !(original > 0) ? MISSING : `${formatDecimal(pruned / original, 2)}×`;

const perplexity = (m: ModelMeasurement) => (m.perplexity ? `${formatPerplexity(m.perplexity.perplexity)} ± ${formatDecimal(m.perplexity.stderr, 4)}` : MISSING);

function row(testid: string, label: string, original: string, pruned: string, ratioText: string): string {
  return `<tr data-testid="${testid}"><th scope="row">${escapeHtml(label)}</th><td class="original">${escapeHtml(original)}</td><td class="pruned">${escapeHtml(pruned)}</td><td class="ratio">${escapeHtml(ratioText)}</td></tr>`;
}

export function pruneCompareBody(v: PruneCompareView): string {
  const { original: o, pruned: p } = v;
  const ppl = o.perplexity && p.perplexity;
  const rows = [
    ppl
      ? row(
          'compare-perplexity',
          `Perplexity (${o.perplexity!.chunks} × ${o.perplexity!.context} tokens)`,
          perplexity(o),
          perplexity(p),
          ratio(p.perplexity!.perplexity, o.perplexity!.perplexity),
        )
      : '',
    row('compare-decode', 'Decode speed', formatTokensPerSecond(o.decodeTokensPerSecond), formatTokensPerSecond(p.decodeTokensPerSecond), ratio(p.decodeTokensPerSecond, o.decodeTokensPerSecond)),
    row('compare-size', 'File size', formatBytes(o.bytes), formatBytes(p.bytes), ratio(p.bytes, o.bytes)),
    row('compare-placement', 'Placement', v.fitBefore, v.fitAfter, ''),
  ].join('');
  return (
    `<h1>Pruned vs original</h1>` +
    `<p data-testid="compare-summary">${escapeHtml(v.prunedName)} beside ${escapeHtml(v.originalName)}; ` +
    (v.textSource !== undefined ? `perplexity on ${escapeHtml(v.textSource)}, the same chunks for both.` : 'no text: no perplexity.') +
    `</p>` +
    `<table class="compare" data-testid="compare-table"><thead><tr><th scope="col"></th><th scope="col">${escapeHtml(v.originalName)}<br><small>original</small></th>` +
    `<th scope="col">${escapeHtml(v.prunedName)}<br><small>pruned</small></th><th scope="col">pruned ÷ original</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p><button data-action="load" data-testid="compare-load">Load pruned model</button>${v.again ? '<button data-action="again" data-testid="compare-again">Write another…</button>' : ''}</p>` +
    `<h2>Experts removed</h2><ul data-testid="compare-removed">${v.removed.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>` +
    (v.atlasSection ?? '')
  );
}

const STYLE = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 12px 24px; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table.compare { border-collapse: collapse; margin: 8px 0 12px; }
table.compare th, table.compare td { padding: 4px 10px; border: 1px solid var(--vscode-editorWidget-border, #8884); text-align: right; vertical-align: top; }
table.compare th[scope="row"] { text-align: left; font-weight: normal; opacity: 0.85; }
table.compare td { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
table.compare tr[data-testid="compare-placement"] td { text-align: left; font-size: 0.9em; }
button { margin-right: 6px; }
.scroll { overflow-x: auto; }
table.cmp { border-collapse: collapse; font-size: 0.9em; }
table.cmp th, table.cmp td { padding: 2px 8px; border: 1px solid var(--vscode-editorWidget-border, #8884); text-align: left; vertical-align: top; }
@media (max-width: 420px) { table.compare th, table.compare td { padding: 2px 4px; font-size: 0.85em; } }
`;

const SCRIPT = `
const vscode = acquireVsCodeApi();
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  if (button) vscode.postMessage({ type: button.dataset.action });
});
`;

export function pruneComparePage(v: PruneCompareView, cspSource: string, nonce: string): string {
  return buildPage({ cspSource, nonce, title: 'Pruned vs original', body: pruneCompareBody(v), inlineStyle: STYLE, inlineScript: SCRIPT });
}
