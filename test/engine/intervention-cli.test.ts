// The CLI's intervention flags and the perplexity/importance commands, as a user runs them (node bin/moe-lens.js):
// a bad SPEC, an unknown layer, too many forced experts and a dense model are one error line and exit 1.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DENSE, MOE, ROOT, runCli } from './helpers';

const TEXT = path.join(ROOT, 'README.md');
const oneErrorLine = (stderr: string) => stderr.trim().split('\n').filter((l) => !l.startsWith('[engine]'));

describe('moe-lens generate with interventions', () => {
  it.each([
    [['--ablate', '0;9'], /^moe-lens: bad --ablate SPEC "0;9": "0" has no ":"/],
    [['--force', '1:x'], /^moe-lens: bad --force SPEC "1:x"/],
    [['--ablate', '7:1'], /^moe-lens: --ablate: layer 7 is not a MoE layer of .* \(MoE layers: 0–3\)$/],
    [['--ablate', '*:8'], /^moe-lens: --ablate: expert 8 is out of range/],
    [['--ablate', '0:0,1,2,3,4,5,6,7'], /every expert ablated in layer 0/],
    [['--force', '2:1,2,3'], /3 experts forced in layer 2, but .* uses 2 per token$/],
    [['--experts-per-token', '9'], /experts per token must be a whole number from 1 to 8/],
  ])('%j is one clear error line and exit 1', async (flags, message) => {
    const run = await runCli('generate', MOE, '-p', 'Hello', '-n', '2', '--quiet', ...flags);
    expect(run.code).toBe(1);
    const lines = oneErrorLine(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it('refuses an intervention on a dense model', async () => {
    const run = await runCli('generate', DENSE, '-p', 'Hello', '-n', '2', '--quiet', '--ablate', '0:1');
    expect(run.code).toBe(1);
    expect(oneErrorLine(run.stderr)).toEqual([expect.stringMatching(/dense model \(no experts\)/)]);
  });

  it('--json: the ablated expert is never routed to and the summary names the intervention and top-k', async () => {
    const run = await runCli('generate', MOE, '-p', 'Hello world', '-n', '6', '--json', '--quiet', '--ablate', '*:3', '--experts-per-token', '3');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { experts?: number[][]; done?: boolean; intervention?: string; expertsPerToken?: number });
    const summary = lines.pop()!;
    expect(summary).toMatchObject({ done: true, intervention: 'ablate *:3', expertsPerToken: 3 });
    expect(lines.length).toBeGreaterThan(6);
    for (const token of lines)
      for (const layer of token.experts!) {
        expect(layer).toHaveLength(3);
        expect(layer).not.toContain(3);
      }
  });
});

describe('moe-lens perplexity and importance', () => {
  it('perplexity: a progress line per chunk, a JSON last line', async () => {
    const run = await runCli('perplexity', MOE, '--file', TEXT, '--context', '64', '--chunks', '3', '--json', '--quiet', '--ablate', '0:1');
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n').filter((l) => /^\[\d\/3\] perplexity \d+\.\d{4}$/.test(l))).toHaveLength(3);
    const last = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(last).toMatchObject({ tokens: expect.any(Number), chunks: 3, context: 64, scored: 3 * 31, intervention: 'ablate 0:1', expertsPerToken: 2 });
    expect(last.perplexity).toBeGreaterThan(1);
    expect(last.routing.counts).toHaveLength(4);
  });

  it('perplexity: a text too short is one error line', async () => {
    const run = await runCli('perplexity', MOE, '--file', path.join(ROOT, 'fixtures', 'moe-llama.spec.json'), '--context', '4096', '--quiet');
    expect(run.code).toBe(1);
    expect(oneErrorLine(run.stderr)).toHaveLength(1);
  });

  it('importance --json: a layer × expert grid of Δ perplexity and REAP', async () => {
    const run = await runCli('importance', MOE, '--file', TEXT, '--context', '16', '--chunks', '2', '--layers', '0,2', '--json', '--quiet');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.layers).toEqual([0, 2]);
    expect(result.deltaPerplexity).toHaveLength(2);
    expect(result.deltaPerplexity[0]).toHaveLength(8);
    expect(result.reap[1]).toHaveLength(8);
    expect(run.stderr).toMatch(/\[16\/16\] layer 2 expert 7/);
    // an interval per expert and a flag that says whether it excludes 0; two chunks ask for more
    for (let i = 0; i < 2; i++)
      for (let e = 0; e < 8; e++) {
        const [low, high, delta] = [result.deltaLow[i][e], result.deltaHigh[i][e], result.deltaPerplexity[i][e]];
        expect(low).toBeLessThanOrEqual(delta + 1e-9);
        expect(high).toBeGreaterThanOrEqual(delta - 1e-9);
        expect(result.significant[i][e]).toBe(low > 0 || high < 0);
      }
    expect(result.noise).toMatchObject({ level: 0.95, chunks: 2, cells: 16, moreChunks: true, suggestedChunks: 8 });
  });

  it('importance as text: changes within noise in parentheses, the half-widths, and the hint to use more chunks', async () => {
    const run = await runCli('importance', MOE, '--file', TEXT, '--context', '16', '--chunks', '2', '--layers', '1', '--quiet');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const delta = lines[lines.findIndex((l) => l.startsWith('Δ perplexity')) + 2];
    expect(delta.trim().split(/\s+/)).toEqual(['1', ...Array.from({ length: 8 }, () => expect.stringMatching(/^\(?([+-]\d+\.\d{3}|0\.000)\)?$/))]);
    const half = lines[lines.findIndex((l) => l.startsWith('± half-width')) + 2];
    expect(half.trim().split(/\s+/)).toEqual(['1', ...Array.from({ length: 8 }, () => expect.stringMatching(/^±\d+\.\d{3}$/))]);
    expect(run.stdout).toMatch(/\nhint: only 2 chunks; \d+ of 8 changes are within noise .*--chunks 8/);
  });
});
