// The measurement the CLI's `prune` and VS Code's Compare share (extension/engine/prune-measure.ts), on the committed
// demo model and the real engine: the pruned file's perplexity equals the original's with the same experts ablated
// (within 0.5 %), both measured on the same chunks; the sizes are the files'; the known baseline is used as given;
// a cancelled comparison throws an abort; the palette's check that a file is the original of a pruned one (its sha256).
import { copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAbort } from '../../extension/engine/errors';
import { checkPrunedFrom, comparePruned, measureModel } from '../../extension/engine/prune-measure';
import { moeShape, planFromSpec, readGgufLayout, writePruned } from '../../extension/engine/prune';
import { newEngine, ROOT } from './helpers';

const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');
const TEXT = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SPEC = '*:1,6';
const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-prune-measure-'));
const engine = newEngine();
afterAll(async () => {
  await engine.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('comparePruned on the demo model', () => {
  const request = { text: TEXT, context: 128, chunks: 3, tokens: 8 };
  const output = path.join(dir, 'demo-pruned.gguf');

  it('measures the original and the pruned file alike; the pruned perplexity is the original with the same experts ablated', async () => {
    const plan = planFromSpec(moeShape(await readGgufLayout(DEMO)), SPEC);
    await writePruned(DEMO, output, plan);
    const options = { modelPath: DEMO, contextSize: 512 };
    await engine.load(options);
    const ablate = Object.fromEntries(plan.layers.map((l) => [String(l.layer), l.remove]));
    const ablated = await engine.perplexity({ text: TEXT, context: 128, chunks: 3, intervention: { ablate } });

    const steps: string[] = [];
    const r = await comparePruned(engine, options, output, request, { onStep: (s) => steps.push(s) });
    expect(steps).toEqual(['original', 'loading', 'pruned']);
    expect(engine.model?.path).toBe(output);
    expect(r.original.bytes).toBe(statSync(DEMO).size);
    expect(r.pruned.bytes).toBe(statSync(output).size);
    expect(r.pruned.bytes).toBeLessThan(r.original.bytes);
    expect(r.pruned.perplexity).toMatchObject({ context: 128, chunks: 3 });
    expect(r.original.perplexity).toMatchObject({ context: 128, chunks: 3 });
    expect(r.pruned.perplexity!.stderr).toBeGreaterThan(0);
    expect(Math.abs(r.pruned.perplexity!.perplexity / ablated.perplexity - 1)).toBeLessThan(0.005);
    // Pruning changed something: the check above could fail.
    expect(Math.abs(r.pruned.perplexity!.perplexity / r.original.perplexity!.perplexity - 1)).toBeGreaterThan(0.005);
    expect(r.original.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(r.pruned.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(r.pruned.placement?.backend).toBeDefined();
  });

  it('uses a known baseline as given, and without a text measures no perplexity', async () => {
    await engine.load({ modelPath: DEMO, contextSize: 512 });
    const known = await engine.perplexity({ text: TEXT, context: 128, chunks: 2 });
    const withKnown = await measureModel(engine, { ...request, chunks: 2 }, undefined, { ...known, perplexity: 123.5 });
    expect(withKnown.perplexity?.perplexity).toBe(123.5);
    const none = await measureModel(engine, { tokens: 4 });
    expect(none.perplexity).toBeNull();
    expect(none.bytes).toBe(statSync(DEMO).size);
  });

  it('a cancelled comparison throws an abort, and the engine can load the original again', async () => {
    await engine.load({ modelPath: DEMO, contextSize: 512 });
    const controller = new AbortController();
    const run = comparePruned(engine, { modelPath: DEMO, contextSize: 512 }, output, request, {
      signal: controller.signal,
      onStep: (s) => s === 'loading' && controller.abort(),
    });
    await expect(run).rejects.toSatisfy(isAbort);
    const info = await engine.load({ modelPath: DEMO, contextSize: 512 });
    expect(info.path).toBe(DEMO);
  });
});

describe('checkPrunedFrom', () => {
  const output = path.join(dir, 'demo-pruned-check.gguf');

  it('accepts the original by its sha256 and gives back the removal; another file or an unpruned one is refused', async () => {
    const plan = planFromSpec(moeShape(await readGgufLayout(DEMO)), SPEC);
    await writePruned(DEMO, output, plan);
    const progress: number[] = [];
    const back = await checkPrunedFrom(output, DEMO, { onProgress: (read) => progress.push(read) });
    expect(back).toEqual(plan);
    expect(progress.at(-1)).toBe(statSync(DEMO).size);

    // The same header, one byte of weights changed: not the original.
    const changed = path.join(dir, 'demo-changed.gguf');
    copyFileSync(DEMO, changed);
    const fd = openSync(changed, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, statSync(DEMO).size - 1);
    closeSync(fd);
    await expect(checkPrunedFrom(output, changed)).rejects.toThrow(/is not the file demo-pruned-check\.gguf was pruned from .*sha256 differs/);
    await expect(checkPrunedFrom(DEMO, DEMO)).rejects.toThrow(/demo-moe\.gguf is not a pruned model/);
  });

  it('a cancelled check throws an abort', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(checkPrunedFrom(output, DEMO, { signal: controller.signal })).rejects.toSatisfy(isAbort);
  });
});
