// The Routing Atlas tab's HTML: a chart row per layer, heat maps, a card per expert, untrusted token text escaped,
// the CSP nonce on the one script, and source links only to the atlas's own example files.
import { describe, expect, it } from 'vitest';
import { AtlasBuilder } from '../../extension/routing/atlas';
import { compareAcrossPruning } from '../../extension/routing/atlas-pruned';
import type { AtlasResult } from '../../extension/routing/atlas-run';
import { atlasExampleFiles, atlasPage, prunedComparisonHtml } from '../../extension/vscode/atlas-html';

function result(): AtlasResult {
  const b = new AtlasBuilder({ layers: [1, 3], experts: 2, k: 1 }, { examples: 1 });
  const item = (id: string, label: string, texts: string[], experts: number[]) =>
    b.add({ id, label, texts, experts: experts.flatMap((e) => [e, e]), weights: texts.flatMap(() => [1, 1]), source: { file: `/w/${id}.py`, line: 1, textLines: true } });
  item('a', 'code', ['<script>alert(1)</script>', '\n', 'x'], [0, 0, 0]);
  item('b', 'prose', [' The', ' "end"'], [1, 1]);
  const report = b.report(20);
  return { model: 'M<b>', ...report, skipped: 1, skippedInputs: [{ file: '/w/bin', reason: 'binary' }], truncatedItems: 0, maxItemTokens: 510, ms: 5, tokensPerSecond: 1000, resumedItems: 0 };
}

describe('atlas page', () => {
  it('renders the chart, heat maps and cards with untrusted text escaped', () => {
    const r = result();
    const html = atlasPage(r, 'the probe set', 'vscode-resource:', 'NONCE123');
    expect(html.match(/data-testid="atlas-layer-row"/g)).toHaveLength(2);
    expect(html.match(/data-testid="atlas-label-heat"/g)).toHaveLength(2);
    expect(html.match(/data-testid="atlas-card"/g)).toHaveLength(4);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('M&lt;b&gt;');
    expect(html).toContain('script-src &#39;nonce-NONCE123&#39;'); // the CSP meta, attribute-escaped
    expect(html.match(/<script /g)).toEqual(['<script ']);
    expect(html).toContain('<script nonce="NONCE123">');
    expect(html).not.toMatch(/command:/);
    // label rows: code all on expert 0
    expect(html).toMatch(/<th scope="row">code<\/th><td class="h9" data-card="1-0"[^>]*>100%<\/td><td class="h-1" data-card="1-1"/);
  });

  it('source links point at indices of the example files', () => {
    const r = result();
    const files = atlasExampleFiles(r);
    expect(files.sort()).toEqual(['/w/a.py', '/w/b.py']);
    const html = atlasPage(r, 'x', 'c', 'n');
    const links = [...html.matchAll(/<a href="#" class="src" data-file="(\d+)" data-line="(\d+)">([^<]+)<\/a>/g)];
    expect(links.length).toBeGreaterThan(0);
    for (const [, index, line, label] of links) {
      expect(atlasExampleFiles(r)[Number(index)]).toBeDefined();
      expect(label).toBe(`${atlasExampleFiles(r)[Number(index)].split('/').pop()}:${line}`);
    }
  });
});

describe('pruned comparison section', () => {
  // Original: 3 experts; "<code>" on 0 and 2, prose on 1. Pruned: expert 0 removed (slots 0, 1 = original 1, 2); "<code>" all on original 2.
  function atlas(experts: number, routed: [string, number][]) {
    const b = new AtlasBuilder({ layers: [4], experts, k: 1 });
    routed.forEach(([label, e], i) => b.add({ id: `i${i}`, label, texts: ['x'], experts: [e], weights: [1] }));
    return b.report(0);
  }
  const original = atlas(3, [['<code>', 0], ['<code>', 0], ['<code>', 2], ['prose', 1]]);
  const pruned = atlas(2, [['<code>', 1], ['<code>', 1], ['<code>', 1], ['prose', 0]]);
  const comparison = compareAcrossPruning(original, pruned, { 4: [1, 2] });

  it('names experts by their original ids, escapes names and labels', () => {
    const html = prunedComparisonHtml(comparison, { original: 'orig<i>', pruned: 'M"pruned' });
    expect(html).toContain('orig&lt;i&gt;');
    expect(html).toContain('M&quot;pruned');
    expect(html).not.toMatch(/<i>|<code>/);
    expect(html).toMatch(/data-testid="atlas-pruned-layer" data-layer="4"/);
    // expert 0 removed (half of the load); its traffic went to original expert 2 (a slot id would say 1)
    expect(html).toMatch(/data-testid="atlas-pruned-removed">0 \(50\.0% → 0\.0%\); 50\.0% in all</);
    expect(html).toMatch(/data-testid="atlas-pruned-gained">2 \(25\.0% → 75\.0%\)</);
    expect(html).toContain('&lt;code&gt;: 0, 2 → 2');
  });

  it("a pruned model's atlas names its experts by their original ids", () => {
    const r = { model: 'M', ...pruned, originalExpertIds: { 4: [1, 2] }, originalExperts: 3, skipped: 0, skippedInputs: [], truncatedItems: 0, maxItemTokens: 10, ms: 1, tokensPerSecond: 1, resumedItems: 0 };
    const html = atlasPage(r, 's', 'c', 'n');
    expect(html).toContain('<tr><th scope="col">label \\ expert</th><th scope="col">1</th><th scope="col">2</th></tr>');
    expect(html).toContain('Layer 4, expert 2 (slot 1):');
    expect(html).toContain('2 experts (pruned from 3; named by their original ids)');
  });

  it('appears on the atlas page only when given', () => {
    const r = { model: 'M', ...pruned, skipped: 0, skippedInputs: [], truncatedItems: 0, maxItemTokens: 10, ms: 1, tokensPerSecond: 1, resumedItems: 0 };
    expect(atlasPage(r, 's', 'c', 'n')).not.toContain('atlas-pruned-compare');
    expect(atlasPage(r, 's', 'c', 'n', { comparison, original: 'O' })).toContain('data-testid="atlas-pruned-compare"');
  });
});
