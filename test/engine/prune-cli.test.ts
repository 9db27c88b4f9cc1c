// `moe-lens prune` end to end through the real CLI: --json's one line (plan, sizes, the pruned model's perplexity
// equal to `perplexity --ablate` of the original), the plan as text, --dry-run's plan by frequency being the least-routed experts of
// `perplexity --json`'s counts with nothing written, and one-line refusals with nothing written.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MOE, ROOT, runCli } from './helpers';

const TEXT = path.join(ROOT, 'README.md');
const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-prune-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const measure = ['-f', TEXT, '--context', '128', '--chunks', '2', '--quiet'];

describe('moe-lens prune', () => {
  it('--json: one line with the plan, the sizes, and perplexities equal to perplexity --ablate of the original', async () => {
    const out = path.join(dir, 'pruned.gguf');
    const run = await runCli('prune', MOE, '--remove', '*:0,5', '-o', out, '--tokens', '8', '--json', ...measure);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(r).toMatchObject({ model: 'moe-llama.gguf', experts: 8, keep: 6, remove: '0:0,5;1:0,5;2:0,5;3:0,5', by: 'spec', out });
    expect(r.sizeBefore).toBe(statSync(MOE).size);
    expect(r.sizeAfter).toBe(statSync(out).size);
    expect(r.pruned.bytes).toBe(r.sizeAfter);
    expect(r.sizeAfter).toBeLessThan(r.sizeBefore);
    expect(r.pruned.decodeTokensPerSecond).toBeGreaterThan(0);
    const plain = JSON.parse((await runCli('perplexity', MOE, ...measure, '--json')).stdout.trim().split('\n').pop()!);
    const ablated = JSON.parse((await runCli('perplexity', MOE, ...measure, '--json', '--ablate', '*:0,5')).stdout.trim().split('\n').pop()!);
    expect(r.original.perplexity).toBeCloseTo(plain.perplexity, 6);
    expect(Math.abs(r.pruned.perplexity / ablated.perplexity - 1)).toBeLessThan(0.005);
    expect(ablated.perplexity).not.toBeCloseTo(plain.perplexity, 3);
  });

  it('--dry-run --drop-per-layer 2 --by frequency: the two least-routed experts of each layer, nothing written', async () => {
    const out = path.join(dir, 'dry.gguf');
    const run = await runCli('prune', MOE, '--drop-per-layer', '2', '--by', 'frequency', '--dry-run', '--json', '-o', out, ...measure);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout.trim());
    expect(plan).toMatchObject({ dryRun: true, keep: 6, by: 'frequency' });
    expect(plan.fitBefore).toMatch(/of weights in system RAM|VRAM/);
    const counts: number[][] = JSON.parse((await runCli('perplexity', MOE, ...measure, '--json')).stdout.trim().split('\n').pop()!).routing.counts;
    const expected = counts
      .map((row, layer) => `${layer}:${[...row.keys()].sort((a, b) => row[a] - row[b] || a - b).slice(0, 2).sort((a, b) => a - b).join(',')}`)
      .join(';');
    expect(plan.remove).toBe(expected);
    expect(existsSync(out)).toBe(false);
  });

  it('--dry-run as text: the plan in the one wording VS Code shows too (a line per layer, the size and placement before → after)', async () => {
    const run = await runCli('prune', MOE, '--remove', '*:0,5', '--dry-run', '--quiet');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toBe('moe-llama.gguf: keep 6 of 8 experts in each of 4 MoE layers (by spec)');
    expect(lines.slice(1, 5)).toEqual([0, 1, 2, 3].map((l) => `  Layer ${l}: experts 0, 5 go`));
    expect(lines[5]).toMatch(/^ {2}Size: \d+\.\d MiB → \d+\.\d MiB$/);
    expect(lines[6]).toMatch(/^ {2}Placement: .+ → .+$/);
  });

  it.each([
    [['--remove', '0:1', '-o', 'x.gguf'], /^moe-lens: every MoE layer must lose the same number of experts/],
    [['--remove', '*:1', '--drop-per-layer', '2', '-o', 'x.gguf'], /^moe-lens: say what to remove with exactly one of/],
    [['--remove', '*:1'], /^moe-lens: give the file to write with --out FILE/],
    [['--remove', '*:1', '-o', MOE], /^moe-lens: the output .*moe-llama.gguf is the input/],
    [['--drop-per-layer', '2', '--by', 'reap', '-o', 'x.gguf'], /^moe-lens: --by reap measures the experts on a text: give it with --file/],
    [['--drop-per-layer', '7', '--by', 'random', '-o', 'x.gguf'], /leaves 1, fewer than the 2 the router picks per token/],
  ])('refuses %j in one line, writing nothing', async (args, message) => {
    const before = readdirSync(dir);
    const run = await runCli('prune', MOE, '--quiet', ...args.map((a) => (a === 'x.gguf' ? path.join(dir, a) : a)));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(before);
  });
});
