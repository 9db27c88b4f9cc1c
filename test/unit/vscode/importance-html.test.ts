// The Expert importance panel's HTML: a heat map cell per (layer, expert) with its value, colour buckets relative
// to the largest change (red where ablating hurts, blue where it helps), escaped text, no script.
import { describe, expect, it } from 'vitest';
import type { ImportanceResult } from '../../../extension/engine/importance';
import { importanceBody, importancePage } from '../../../extension/vscode/importance-html';

const result: ImportanceResult = {
  model: '<b>toy</b>',
  baseline: { perplexity: 10, stderr: 0.5, tokens: 100, chunks: 2, context: 32 },
  layers: [0, 3],
  experts: 2,
  perplexity: [[12, 9.5], [10, 10]],
  deltaPerplexity: [[2, -0.5], [0, 0.001]],
  reap: [[1.5, 0.2], [0, 3]],
  share: [[0.75, 0.25], [0, 1]],
  evaluations: 6,
  reused: 4,
  ms: 1500,
};

describe('importance panel html', () => {
  it('has one cell per (layer, expert) with values and colour buckets', () => {
    const body = importanceBody(result, 'notes.txt');
    const cells = [...body.matchAll(/<td class="([pn]\d)" data-layer="(\d+)" data-expert="(\d+)" data-value="([^"]+)"/g)].map((m) => m.slice(1).join(' '));
    expect(cells.slice(0, 4)).toEqual(['p9 0 0 2', 'n2 0 1 -0.5', 'p0 3 0 0', 'p0 3 1 0.001']);
    expect(body).toContain('&lt;b&gt;toy&lt;/b&gt;');
    expect(body).toContain('baseline perplexity 10.0000 ± 0.5000');
    expect(body).toContain('>+2.000<');
    expect(body).toContain('>-0.500<');
    const page = importancePage(result, 'notes.txt', 'vscode-resource:', 'n1');
    expect(page).not.toMatch(/<script/);
    expect(page).toContain('<style nonce="n1">');
  });
});
