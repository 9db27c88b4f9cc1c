// The "Pruned vs original" tab's HTML (extension/vscode/prune-compare-html.ts): the two columns and pruned ÷ original
// through the shared formatters, perplexity ± stderr only when there was a text, model names and removal lines
// escaped, the CSP nonce on the one script and style, no inline handlers, and the optional atlas section as given.
import { describe, expect, it } from 'vitest';
import type { ModelMeasurement } from '../../../extension/engine/prune-measure';
import { pruneCompareBody, pruneComparePage, type PruneCompareView } from '../../../extension/vscode/prune-compare-html';

const ppl = (perplexity: number, stderr: number) => ({ perplexity, stderr, context: 128, chunks: 3 });
const original: ModelMeasurement = { perplexity: ppl(10, 0.25), decodeTokensPerSecond: 200, bytes: 20 * 2 ** 20 };
const pruned: ModelMeasurement = { perplexity: ppl(12.5, 0.3), decodeTokensPerSecond: 250, bytes: 15 * 2 ** 20 };
const view: PruneCompareView = {
  originalName: '<img src=x onerror=alert(1)>.gguf',
  prunedName: 'demo-"6x".gguf',
  textSource: 'notes <b>.md',
  original,
  pruned,
  fitBefore: 'CPU: all 20.0 MiB of weights in system RAM',
  fitAfter: 'CPU: all 15.0 MiB of weights in system RAM',
  removed: ['Layer 0: experts 1, 6 go', 'Layer 1: experts <2>, 5 go'],
};

/** The cells of a row by its test id: [label, original, pruned, ratio]. */
const cells = (html: string, testid: string) => {
  const row = new RegExp(`<tr data-testid="${testid}">(.*?)</tr>`).exec(html)?.[1];
  return row ? [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((m) => m[1]) : undefined;
};

describe('pruned vs original page', () => {
  it('shows both columns and pruned ÷ original with the shared formatters', () => {
    const html = pruneCompareBody(view);
    expect(cells(html, 'compare-perplexity')).toEqual(['Perplexity (3 × 128 tokens)', '10.0000 ± 0.2500', '12.5000 ± 0.3000', '1.25×']);
    expect(cells(html, 'compare-decode')).toEqual(['Decode speed', '200.0 tok/s', '250.0 tok/s', '1.25×']);
    expect(cells(html, 'compare-size')).toEqual(['File size', '20.0 MiB', '15.0 MiB', '0.75×']);
    expect(cells(html, 'compare-placement')).toEqual(['Placement', view.fitBefore, view.fitAfter, '']);
    expect(html).toContain('perplexity on notes &lt;b&gt;.md, the same chunks for both.');
    expect(html).toContain('data-action="load"');
    expect(html).not.toContain('data-action="again"');
  });

  it('has no perplexity row without a text', () => {
    const html = pruneCompareBody({ ...view, textSource: undefined, original: { ...original, perplexity: null }, pruned: { ...pruned, perplexity: null } });
    expect(cells(html, 'compare-perplexity')).toBeUndefined();
    expect(html).not.toContain('Perplexity');
    expect(html).toContain('no text: no perplexity.');
    expect(cells(html, 'compare-size')).toEqual(['File size', '20.0 MiB', '15.0 MiB', '0.75×']);
  });

  it('escapes the model names and the removal lines', () => {
    const html = pruneCompareBody(view);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;.gguf');
    expect(html).toContain('demo-&quot;6x&quot;.gguf');
    expect(html).toContain('<li>Layer 1: experts &lt;2&gt;, 5 go</li>');
    expect([...html.matchAll(/<li>/g)]).toHaveLength(2);
  });

  it('a missing original figure gives MISSING, never a ratio', () => {
    const html = pruneCompareBody({ ...view, original: { ...original, decodeTokensPerSecond: 0 } });
    expect(cells(html, 'compare-decode')).toEqual(['Decode speed', '0.0 tok/s', '250.0 tok/s', '—']);
  });

  it('the page: a strict CSP with the nonce on its one script and style, no inline handlers, the atlas section as given', () => {
    const html = pruneComparePage({ ...view, again: true, atlasSection: '<section data-testid="atlas-compare">shift</section>' }, 'vscode-resource:', 'N0nce');
    expect(html).toMatch(/Content-Security-Policy" content="[^"]*script-src &#39;nonce-N0nce&#39;/);
    expect(html).not.toContain('unsafe-inline');
    expect([...html.matchAll(/<script/g)]).toHaveLength(1);
    expect(html).toContain('<script nonce="N0nce">');
    expect(html).toContain('<style nonce="N0nce">');
    expect(html).not.toMatch(/<[^>]+\son[a-z]+=/i);
    expect(html).toContain('<section data-testid="atlas-compare">shift</section>');
    expect(html).toContain('data-action="load"');
    expect(html).toContain('data-action="again"');
  });
});
