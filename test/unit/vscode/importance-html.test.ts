// The Expert importance panel's HTML: a heat map cell per (layer, expert) with its value and interval, colour buckets
// relative to the largest change beyond noise (red where ablating hurts, blue where it helps), grey within noise,
// the load maps on their own sequential scale, legends, the hint to use more chunks, escaped text, no script.
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
  deltaLow: [[1.2, -0.9], [-0.1, -0.2]],
  deltaHigh: [[2.9, -0.1], [0.1, 0.2]],
  significant: [[true, true], [false, false]],
  noise: { level: 0.95, method: 'paired t', chunks: 2, withinNoise: 2, cells: 4, moreChunks: true, suggestedChunks: 8, maxChunks: 3 },
  evaluations: 6,
  reused: 4,
  ms: 1500,
};

describe('importance panel html', () => {
  it('has one cell per (layer, expert) with values and colour buckets', () => {
    const body = importanceBody(result, 'notes.txt');
    const cells = [...body.matchAll(/<td class="(\w+)" data-layer="(\d+)" data-expert="(\d+)" data-value="([^"]+)" data-low="([^"]+)" data-high="([^"]+)" data-significant="(\w+)"/g)].map((m) =>
      m.slice(1).join(' '),
    );
    // buckets relative to the largest change beyond noise (2); the within-noise ones grey whatever their size
    expect(cells).toEqual(['p9 0 0 2 1.2 2.9 true', 'n2 0 1 -0.5 -0.9 -0.1 true', 'noise 3 0 0 -0.1 0.1 false', 'noise 3 1 0.001 -0.2 0.2 false']);
    expect(body).toContain('title="layer 3, expert 1: Δ perplexity +0.001 (95% interval -0.200 to +0.200; within noise)"');
    expect(body).toContain('title="layer 0, expert 0: Δ perplexity +2.000 (95% interval +1.200 to +2.900; worse without it)"');
    // one meaning per colour: the Δ legend names red, blue and grey; the load maps use their own scale (q buckets)
    expect(body).toMatch(/data-testid="importance-delta-legend">[\s\S]*worse without the expert[\s\S]*better without it[\s\S]*within noise/);
    const share = [...body.matchAll(/<td class="(\w+)" data-layer="\d+" data-expert="\d+" data-value="[^"]+" title="[^"]*">([^<]*)<\/td>/g)].map((m) => m.slice(1).join(' '));
    expect(share.slice(-4)).toEqual(['q7 75.0%', 'q2 25.0%', 'q0 0.0%', 'q9 100.0%']);
    expect(body).toContain('data-testid="importance-noise-hint">Only 2 chunks; 2 of 4 changes are within noise (their 95% interval contains 0). More chunks narrow the intervals: run it again with 8 chunks or on a longer text.');
    expect(importanceBody({ ...result, noise: { ...result.noise, moreChunks: false } }, 'notes.txt')).not.toContain('importance-noise-hint');
    expect(body).toContain('&lt;b&gt;toy&lt;/b&gt;');
    expect(body).toContain('baseline perplexity 10.0000 ± 0.5000');
    expect(body).toContain('>+2.000<');
    expect(body).toContain('>-0.500<');
    const page = importancePage(result, 'notes.txt', 'vscode-resource:', 'n1');
    expect(page).not.toMatch(/<script/);
    expect(page).toContain('<style nonce="n1">');
  });
});
