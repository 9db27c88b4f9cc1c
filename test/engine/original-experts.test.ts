// A pruned model's experts by their original ids: the model info of a file written by `moe-lens prune` (the demo,
// pruned twice so the ids compose) carries, per MoE layer, the original id of each slot, read from its GGUF header;
// an unpruned model and malformed provenance carry none; the names the lens uses; the model's label says it is pruned
// (the chat header's, status bar's and model actions' name, through the real engine and the chat's model session).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelSession } from '../../extension/chat/session';
import { formatModelLabel } from '../../extension/format';
import { describeModel, modelFacts, planPlacement, readModelFile } from '../../extension/engine/model-file';
import { expertColumns, expertLabel, originalExpertsOf, originalId, prunedNote } from '../../extension/engine/original-experts';
import { moeShape, planFromSpec, readGgufLayout, writePruned } from '../../extension/engine/prune';
import { DEMO_MODEL_NAME, demoModelFile } from '../../extension/engine/demo-model';
import type { GgufModelInfo, ModelRouting } from '../../extension/engine/types';
import { newEngine } from './helpers';

const DEMO_MODEL_PATH = demoModelFile();

const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-original-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function infoOf(file: string): Promise<GgufModelInfo> {
  const model = await readModelFile(file, await import('node-llama-cpp'));
  const facts = modelFacts(model);
  return describeModel(model, facts, 256, planPlacement(facts, { backend: 'cpu', gpuLayers: 0, cpuMoe: 'none' }));
}
const routingOf = async (file: string): Promise<ModelRouting | undefined> => (await infoOf(file)).routing;

async function prune(input: string, spec: string, name: string): Promise<string> {
  const output = path.join(dir, name);
  await writePruned(input, output, planFromSpec(moeShape(await readGgufLayout(input)), spec));
  return output;
}

/** The demo pruned 8 → 6 (layer 0 loses 1 and 2, every other layer 0 and 7), written once for the tests that need it. */
let prunedOnce: Promise<string> | undefined;
const demoPruned = () => (prunedOnce ??= prune(DEMO_MODEL_PATH, '0:1,2;1:0,7;2:0,7;3:0,7;4:0,7;5:0,7', 'once.gguf'));

describe('original expert ids of a pruned model', () => {
  it('reads them from the header of a pruned file, composed over two prunings; none for the original', async () => {
    expect(await routingOf(DEMO_MODEL_PATH)).not.toHaveProperty('originalExpertIds');
    const once = await demoPruned();
    const r1 = (await routingOf(once))!;
    expect(r1.experts).toBe(6);
    expect(r1.originalExperts).toBe(8);
    expect(r1.originalExpertIds![0]).toEqual([0, 3, 4, 5, 6, 7]);
    expect(r1.originalExpertIds![5]).toEqual([1, 2, 3, 4, 5, 6]);
    // 6 → 4: slots 0 and 1 of every layer go; the ids stay those of the first model.
    const twice = await prune(once, '*:0,1', 'twice.gguf');
    const r2 = (await routingOf(twice))!;
    expect(r2.experts).toBe(4);
    expect(r2.originalExperts).toBe(8);
    expect(r2.originalExpertIds![0]).toEqual([4, 5, 6, 7]);
    expect(r2.originalExpertIds![3]).toEqual([3, 4, 5, 6]);
    expect(Object.keys(r2.originalExpertIds!).map(Number)).toEqual(r2.moeLayers);
  });

  it('ignores provenance that does not fit the model', () => {
    const meta = (ids: unknown, count: unknown = 8) => ({ moe_lens: { original_expert_count: count, original_experts: ids } });
    expect(originalExpertsOf(meta({ 0: [1, 2], 1: [0, 3] }), [0, 1], 2)).toEqual({ originalExpertIds: { 0: [1, 2], 1: [0, 3] }, originalExperts: 8 });
    expect(originalExpertsOf(meta({ 0: [1, 2] }), [0, 1], 2)).toEqual({}); // a layer missing
    expect(originalExpertsOf(meta({ 0: [1, 2, 3], 1: [0, 3] }), [0, 1], 2)).toEqual({}); // not one id per slot
    expect(originalExpertsOf(meta({ 0: [1, 9], 1: [0, 3] }), [0, 1], 2)).toEqual({}); // beyond the original count
    expect(originalExpertsOf(meta({ 0: [1, 2], 1: [0, 3] }, 2), [0, 1], 2)).toEqual({}); // not fewer experts than before
    expect(originalExpertsOf({ general: {} }, [0, 1], 2)).toEqual({});
  });

  it('names slots by their original ids, columns by id only where every layer kept the same experts', () => {
    const base: ModelRouting = { moeLayers: [1, 2], experts: 3, expertsPerToken: 2, sharedExperts: 0 };
    const pruned: ModelRouting = { ...base, originalExperts: 6, originalExpertIds: { 1: [0, 4, 5], 2: [1, 4, 5] } };
    expect(originalId(pruned, 2, 0)).toBe(1);
    expect(originalId(base, 2, 0)).toBe(0);
    expect(expertLabel(pruned, 1, 1)).toBe('expert 4 (slot 1)');
    expect(expertLabel(base, 1, 1)).toBe('expert 1');
    expect(expertColumns(pruned, [1, 2], 3)).toEqual({ names: ['0', '1', '2'], byId: false });
    expect(expertColumns(pruned, [2], 3)).toEqual({ names: ['1', '4', '5'], byId: true });
    expect(expertColumns(base, [1, 2], 3)).toEqual({ names: ['0', '1', '2'], byId: true });
    expect(prunedNote(pruned)).toMatch(/^Pruned from 6 experts per layer to 3: .*slots of this file \(0–2\)/);
    expect(prunedNote(base)).toBeUndefined();
  });

  it('labels a pruned model with the experts it kept of those it had; any other model by its name alone', () => {
    const routing: ModelRouting = { moeLayers: [1, 2], experts: 3, expertsPerToken: 2, sharedExperts: 0 };
    expect(formatModelLabel({ name: 'Mixtral', routing })).toBe('Mixtral');
    expect(formatModelLabel({ name: 'Mixtral', routing: { ...routing, originalExperts: 6, originalExpertIds: { 1: [0, 4, 5], 2: [1, 4, 5] } } })).toBe('Mixtral · pruned 3/6');
    expect(formatModelLabel({ name: 'Mixtral', routing: { ...routing, originalExperts: 6 } })).toBe('Mixtral'); // no ids: not a pruned model's routing
    expect(formatModelLabel({ name: 'dense' })).toBe('dense');
  });

  it('the chat session names a loaded pruned demo "MoE Lens demo · pruned 6/8" (general.name is the original\'s)', async () => {
    const file = await demoPruned();
    expect((await infoOf(file)).name).toBe(DEMO_MODEL_NAME);
    const engine = newEngine();
    try {
      const session = new ModelSession(engine, async () => ({ options: { modelPath: file, threads: 1, contextSize: 256 }, isDemo: false }));
      await session.ensureLoaded();
      expect(session.summary(false).label).toBe(`${DEMO_MODEL_NAME} · pruned 6/8`);
      const original = new ModelSession(engine, async () => ({ options: { modelPath: DEMO_MODEL_PATH, threads: 1, contextSize: 256 }, isDemo: true }));
      await original.ensureLoaded();
      expect(original.summary(false).label).toBe(DEMO_MODEL_NAME);
    } finally {
      await engine.dispose();
    }
  });
});
