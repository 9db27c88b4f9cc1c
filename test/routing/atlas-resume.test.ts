// A resumable atlas run on the demo (real engine; `npm run build:ts` first): cancelled part way, it leaves a
// checkpoint; the same run given it continues after the items it holds and ends with the report of one
// uninterrupted run. A checkpoint of another run is not used.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoModelFile } from '../../extension/engine/demo-model';
import type { EngineClient } from '../../extension/engine/client';
import { readCorpus, type CorpusEntry } from '../../extension/routing/atlas-corpus';
import { runAtlas, type AtlasResult } from '../../extension/routing/atlas-run';
import { newEngine } from '../engine/helpers';

const PROBES = path.join(__dirname, '..', '..', 'probes', 'atlas-probes.jsonl');
let engine: EngineClient;
let dir: string;
let corpus: string;

/** The report without what differs between runs (time), and without the resumed count. */
const figures = ({ ms: _ms, tokensPerSecond: _t, resumedItems: _r, ...rest }: AtlasResult) => rest;
const entries = (): AsyncIterable<CorpusEntry> => readCorpus([corpus]);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-resume-'));
  // The probe texts four times over (with a malformed line among them): several engine batches.
  const probes = readFileSync(PROBES, 'utf8').trim().split('\n');
  const lines: string[] = [];
  for (let round = 0; round < 4; round++)
    for (const line of probes) {
      const item = JSON.parse(line) as { id: string; label: string; text: string };
      lines.push(JSON.stringify({ ...item, id: `${item.id}-${round}` }));
      if (round === 2 && lines.length % 24 === 5) lines.push('{not json');
    }
  corpus = path.join(dir, 'corpus.jsonl');
  writeFileSync(corpus, lines.join('\n') + '\n');
  engine = newEngine();
  await engine.load({ modelPath: demoModelFile() });
}, 120_000);

afterAll(async () => {
  await engine?.dispose();
});

describe('atlas checkpoint', () => {
  it('a cancelled run continues from its checkpoint and gives the report of an uninterrupted run', async () => {
    const options = { permutations: 50, seed: 3 };
    const whole = await runAtlas(engine, entries(), options);
    expect(whole.items).toBe(96);
    expect(whole.skipped).toBe(1);

    const checkpoint = { file: path.join(dir, 'atlas.checkpoint.json'), key: 'probes x4', everyMs: 0 };
    const controller = new AbortController();
    let seen = 0;
    const cancelled = runAtlas(engine, entries(), {
      ...options,
      checkpoint,
      signal: controller.signal,
      onProgress: (p) => {
        seen = p.items;
        if (p.items === 30) controller.abort();
      },
    });
    await expect(cancelled).rejects.toMatchObject({ code: 'aborted', message: expect.stringContaining(checkpoint.file) });
    expect(existsSync(checkpoint.file)).toBe(true);
    const saved = JSON.parse(readFileSync(checkpoint.file, 'utf8')) as { entries: number; builder: { itemLabels: number[] } };
    expect(saved.builder.itemLabels.length).toBeGreaterThanOrEqual(30);
    expect(saved.builder.itemLabels.length).toBeLessThan(96);
    expect(saved.builder.itemLabels.length).toBe(seen);

    const resumed = await runAtlas(engine, entries(), { ...options, checkpoint });
    expect(resumed.resumedItems).toBe(saved.builder.itemLabels.length);
    expect(figures(resumed)).toEqual(figures(whole));
    expect(existsSync(checkpoint.file)).toBe(false); // complete: the checkpoint is gone
  }, 180_000);

  it("another run's checkpoint is not used", async () => {
    const file = path.join(dir, 'other.checkpoint.json');
    const controller = new AbortController();
    const cancelled = runAtlas(engine, entries(), {
      checkpoint: { file, key: 'run A', everyMs: 0 },
      signal: controller.signal,
      permutations: 0,
      onProgress: (p) => p.items === 30 && controller.abort(),
    });
    await expect(cancelled).rejects.toMatchObject({ code: 'aborted' });
    expect(existsSync(file)).toBe(true);
    const other = await runAtlas(engine, entries(), { checkpoint: { file, key: 'run B' }, permutations: 0 });
    expect(other.resumedItems).toBe(0);
    expect(other.items).toBe(96);
  }, 180_000);
});
