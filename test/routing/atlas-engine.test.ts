// `moe-lens atlas` on real models (node bin/moe-lens.js; `npm run build:ts` first): its counts against an independent
// recomputation from `moe-lens generate --json`, specialisation against chance on the demo, the random-weight
// fixture, bad corpus input, --max-item-tokens, --out and --compare.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AtlasLayer, AtlasReport } from '../../extension/routing/atlas';
import type { JsonlToken } from '../../extension/routing/export';
import { fixture, runCli } from '../engine/helpers';

interface Summary extends Omit<AtlasReport, 'cards'> {
  skipped: number;
  skippedInputs: { file: string; line?: number; reason: string }[];
  truncatedItems: number;
  compare?: { layer: number; loadJs: number; moved: unknown[] }[];
}

const PROBES = path.join(__dirname, '..', '..', 'probes', 'atlas-probes.jsonl');
const probes = readFileSync(PROBES, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; label: string; text: string });

let dir: string;
const jsonl = (name: string, items: object[]) => {
  const file = path.join(dir, name);
  writeFileSync(file, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  return file;
};

async function atlas(...args: string[]): Promise<{ summary: Summary; stderr: string }> {
  const run = await runCli('atlas', ...args, '--json', '--quiet');
  expect(run.stderr).not.toMatch(/^moe-lens:/m);
  expect(run.code).toBe(0);
  return { summary: JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary, stderr: run.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-engine-'));
});

describe('moe-lens atlas', () => {
  it('counts equal a recomputation from the generate --json trace of each item (BOS not counted)', async () => {
    const items = [probes[0], probes[4], probes[8], probes[12]].map((p) => ({ text: p.text, label: p.label === 'prose' ? 'prose' : 'code', id: p.id }));
    const { summary } = await atlas('demo', '--corpus', jsonl('four.jsonl', items), '--permutations', '20');
    const expected = new Map<string, { top1: number[][]; topK: number[][] }>();
    let tokens = 0;
    for (const item of items) {
      const run = await runCli('generate', 'demo', '-p', item.text, '-n', '0', '--json', '--quiet');
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonlToken & { done?: boolean });
      const trace = lines.filter((l) => !l.done);
      expect(trace[0]).toMatchObject({ index: 0, text: '<s>' });
      const own = trace.slice(1);
      tokens += own.length;
      const layers = own[0].experts.length;
      const entry = expected.get(item.label) ?? { top1: zeros(layers, summary.experts), topK: zeros(layers, summary.experts) };
      expected.set(item.label, entry);
      for (const t of own)
        t.experts.forEach((chosen, l) => {
          entry.top1[l][chosen[0]]++;
          chosen.forEach((e, r) => t.weights[l][r] > 0 && entry.topK[l][e]++);
        });
    }
    expect(summary).toMatchObject({ items: 4, skipped: 0, tokens, labels: ['prose', 'code'], experts: 8, expertsPerToken: 2 });
    expect(summary.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3, 4, 5]);
    summary.layers.forEach((layer, l) => {
      for (const [label, e] of expected) {
        expect(layer.counts[label]).toEqual(e.top1[l]);
        expect(layer.countsTopK[label]).toEqual(e.topK[l]);
      }
    });
  });

  it('on the demo, code vs prose specialisation is above chance in at least one layer; --out and --compare', async () => {
    const items = probes.filter((p) => ['prose', 'python', 'javascript', 'shell'].includes(p.label)).map((p) => ({ ...p, label: p.label === 'prose' ? 'prose' : 'code' }));
    const out = path.join(dir, 'out');
    const { summary } = await atlas('demo', '--corpus', jsonl('code-prose.jsonl', items), '--permutations', '200', '--seed', '5', '--out', out);
    expect(summary.items).toBe(16);
    const above = summary.layers.filter((l: AtlasLayer) => l.pValue <= 0.05 && l.miBits > l.chanceHighBits);
    expect(above.length).toBeGreaterThanOrEqual(1);
    for (const l of summary.layers) {
      expect(l.pValue).toBeGreaterThan(0);
      expect(l.pValue).toBeLessThanOrEqual(1);
      expect(l.chanceBits).toBeGreaterThanOrEqual(0);
    }
    const written = JSON.parse(readFileSync(path.join(out, 'atlas.json'), 'utf8')) as AtlasReport;
    expect(written.cards).toHaveLength(6 * 8);
    expect(written.layers).toEqual(summary.layers);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/^\| 0 \| \d\.\d{3} \| \d\.\d{3} \|/m);
    expect(readFileSync(path.join(out, 'atlas.csv'), 'utf8').split('\n')[0]).toBe('layer,kind,name,expert,top1,topk');
    // the same corpus and seed again: nothing moved
    const again = await atlas('demo', '--corpus', jsonl('code-prose.jsonl', items), '--permutations', '200', '--seed', '5', '--compare', path.join(out, 'atlas.json'));
    expect(again.summary.layers).toEqual(summary.layers);
    for (const shift of again.summary.compare!) {
      expect(shift.loadJs).toBeCloseTo(0, 9);
      expect(shift.moved).toEqual([]);
    }
  });

  it('on the random-weight fixture the atlas is computed and reports what it finds', async () => {
    const { summary } = await atlas(fixture('random-demo.gguf'), '--corpus', PROBES, '--permutations', '100');
    expect(summary.items).toBe(24);
    expect(summary.layers).toHaveLength(8);
    for (const l of summary.layers) {
      const total = Object.values(l.counts).reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
      expect(total).toBe(summary.tokens);
      expect(l.pValue).toBeGreaterThan(0);
      expect(l.pValue).toBeLessThanOrEqual(1);
    }
    const above = summary.layers.filter((l) => l.pValue <= 0.05).length;
    console.log(
      `[atlas] random-weight fixture: ${above} of 8 layers above chance (p ≤ 0.05); MI ${summary.layers.map((l) => l.miBits.toFixed(3)).join(' ')} vs chance ${summary.layers.map((l) => l.chanceBits.toFixed(3)).join(' ')} bits`,
    );
  });

  it('bad corpus input is named on stderr and counted as skipped; --max-item-tokens cuts items', async () => {
    writeFileSync(path.join(dir, 'binary.bin'), Buffer.from([1, 2, 0, 3]));
    const file = jsonl('mixed.jsonl', [{ text: probes[0].text, label: 'prose' }, { text: '' }]);
    writeFileSync(file, readFileSync(file, 'utf8') + '{"text": broken\n');
    const { summary, stderr } = await atlas('demo', '--corpus', file, path.join(dir, 'binary.bin'), '--max-item-tokens', '8', '--permutations', '0');
    expect(summary).toMatchObject({ items: 1, skipped: 3, tokens: 8, truncatedItems: 1 });
    expect(stderr).toContain(`skipped ${file}:2: empty text`);
    expect(stderr).toMatch(new RegExp(`skipped ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: invalid JSON`));
    expect(stderr).toContain(`skipped ${path.join(dir, 'binary.bin')}: binary (it holds NUL bytes)`);
  });

  it('a corpus with nothing readable is one error line and exit 1', async () => {
    const run = await runCli('atlas', 'demo', '--corpus', path.join(dir, 'nothing-here'), '--quiet');
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').pop()).toMatch(/^moe-lens: no item of the corpus could be read \(1 skipped; the first: .*nothing-here: cannot read it \(ENOENT\)\)$/);
  });
});

function zeros(rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}
