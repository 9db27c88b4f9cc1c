// `moe-lens atlas --compare` across pruning on the real engine (node bin/moe-lens.js; `npm run build:ts` first): the
// demo's atlas, a copy pruned by writePruned (experts 2 and 5 of every MoE layer removed), the pruned copy's atlas
// compared with the demo's in original ids; each kept expert's share checked against the pruned model's own routing
// (`generate --json` of each item, slots mapped through the file's original ids); another model refused in one line.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moeShape, planFromSpec, readGgufLayout, writePruned } from '../../extension/engine/prune';
import type { PrunedComparison } from '../../extension/routing/atlas-pruned';
import type { AtlasResult } from '../../extension/routing/atlas-run';
import type { JsonlToken } from '../../extension/routing/export';
import { fixture, ROOT, runCli } from '../engine/helpers';

const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');
const REMOVED = [2, 5];
const MAX_TOKENS = 24;
const probes = readFileSync(path.join(ROOT, 'probes', 'atlas-probes.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; label: string; text: string });
// Few items, each cut at MAX_TOKENS: seconds on the demo.
const items = [probes[0], probes[4], probes[8], probes[12]].map((p) => ({ id: p.id, label: p.label === 'prose' ? 'prose' : 'code', text: p.text }));

let dir: string;
let corpus: string;
let pruned: string;
let original: string;

type Summary = Omit<AtlasResult, 'cards'> & { comparePruned?: PrunedComparison; compare?: unknown };

async function atlas(model: string, ...args: string[]): Promise<Summary> {
  const run = await runCli('atlas', model, '--corpus', corpus, '--max-item-tokens', String(MAX_TOKENS), '--permutations', '10', ...args, '--json', '--quiet');
  expect(run.stderr).not.toMatch(/^moe-lens:/m);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop()!) as Summary;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-pruned-'));
  corpus = path.join(dir, 'items.jsonl');
  writeFileSync(corpus, items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  pruned = path.join(dir, 'demo-pruned.gguf');
  await writePruned(DEMO, pruned, planFromSpec(moeShape(await readGgufLayout(DEMO)), `*:${REMOVED.join(',')}`));
  await atlas(DEMO, '--out', path.join(dir, 'original'));
  original = path.join(dir, 'original', 'atlas.json');
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('moe-lens atlas --compare across pruning', () => {
  it("the pruned demo's atlas against the demo's: removed experts by original id, kept shares as the pruned model routes", async () => {
    const summary = await atlas(pruned, '--compare', original);
    expect(summary.compare).toBeUndefined();
    const c = summary.comparePruned!;
    expect(c).toMatchObject({ originalExperts: 8, prunedExperts: 6 });
    const ids = summary.originalExpertIds!;
    const kept = [0, 1, 3, 4, 6, 7];
    const before = JSON.parse(readFileSync(original, 'utf8')) as AtlasResult;
    expect(before.originalExpertIds).toBeUndefined();

    // The pruned model's top-k selections per original id, from its own routing trace.
    const selections = before.layers.map(() => new Array<number>(8).fill(0));
    for (const item of items) {
      const run = await runCli('generate', pruned, '-p', item.text, '-n', '0', '--json', '--quiet');
      expect(run.code).toBe(0);
      const own = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as JsonlToken & { done?: boolean }).filter((t) => !t.done).slice(1, 1 + MAX_TOKENS);
      for (const t of own) t.experts.forEach((chosen, l) => chosen.forEach((slot, r) => t.weights[l][r] > 0 && selections[l][ids[before.layers[l].layer][slot]]++));
    }

    expect(c.layers.map((l) => l.layer)).toEqual(before.layers.map((l) => l.layer));
    c.layers.forEach((layer, l) => {
      expect(ids[layer.layer]).toEqual(kept);
      expect(layer.removed.map((r) => r.expert).sort()).toEqual(REMOVED);
      for (const r of layer.removed) {
        expect(r.sharePruned).toBe(0);
        expect(r.shareOriginal).toBeCloseTo(before.layers[l].load.shares[r.expert], 12);
      }
      expect(layer.removedShare).toBeGreaterThan(0);
      const total = selections[l].reduce((s, v) => s + v, 0);
      for (const g of layer.gained) {
        expect(kept).toContain(g.expert);
        expect(g.sharePruned).toBeGreaterThan(g.shareOriginal);
        expect(g.sharePruned).toBeCloseTo(selections[l][g.expert] / total, 12);
      }
      // The pruned atlas's own load, slot by slot, is the trace's too.
      const pruneShares = summary.layers[l].load.shares;
      kept.forEach((e, slot) => expect(pruneShares[slot]).toBeCloseTo(selections[l][e] / total, 12));
      expect(layer.loadJs).toBeGreaterThan(0);
      expect(layer.labels.map((m) => m.name).sort()).toEqual(['code', 'prose']);
      for (const m of layer.labels) for (const e of m.topPruned) expect(kept).toContain(e);
    });
  });

  it("the other way round (the demo against the pruned atlas) compares in original ids too; the pruned atlas's report names original ids", async () => {
    const out = path.join(dir, 'pruned-out');
    await atlas(pruned, '--out', out);
    // Its report names the experts by their original ids.
    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('6 experts (pruned from 8; named by their original ids)');
    expect([...report.matchAll(/^\| 0 \| (\d+) \| [\d.]+% \|/gm)].map((m) => Number(m[1]))).toEqual([0, 1, 3, 4, 6, 7]);
    const summary = await atlas(DEMO, '--compare', path.join(out, 'atlas.json'));
    expect(summary.comparePruned!.layers[0].removed.map((r) => r.expert).sort()).toEqual(REMOVED);
  });

  it('another model is refused in one line before the capture pass', async () => {
    const run = await runCli('atlas', fixture('random-demo.gguf'), '--corpus', corpus, '--compare', original, '--json', '--quiet');
    expect(run.code).not.toBe(0);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('moe-lens:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/cannot compare with .*atlas\.json: the atlases are of different models: .*neither pruned from the other/);
    expect(run.stdout).toBe('');
  });
});
