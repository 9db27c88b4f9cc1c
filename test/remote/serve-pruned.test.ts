// A pruned model served by `moe-lens serve` keeps its original expert ids in a remote client: the demo pruned 8 → 6
// is served, `/v1/models` carries its ids in the `moe_lens` meta, the remote engine's routing has the same
// originalExpertIds/originalExperts as the local load of the file, and its label says it is pruned. A server's ids
// that do not fit the meta it sends (wrong lengths, ids out of range, strings, extra or missing layers) are ignored.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moeLensOriginalIds, type MoeLensModelMeta } from '../../extension/engine/dialects';
import { describeModel, modelFacts, planPlacement, readModelFile } from '../../extension/engine/model-file';
import { moeShape, planFromSpec, readGgufLayout, writePruned } from '../../extension/engine/prune';
import { RemoteEngine } from '../../extension/engine/remote-engine';
import { formatModelLabel } from '../../extension/format';
import type { ModelRouting } from '../../extension/engine/types';
import { DEMO, startMoeLensServe, type RunningServer } from './servers';

const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-serve-pruned-'));
const pruned = path.join(dir, 'demo-pruned.gguf');
let server: RunningServer | undefined;

async function localRouting(file: string): Promise<ModelRouting | undefined> {
  const model = await readModelFile(file, await import('node-llama-cpp'));
  const facts = modelFacts(model);
  return describeModel(model, facts, 256, planPlacement(facts, { backend: 'cpu', gpuLayers: 0, cpuMoe: 'none' })).routing;
}

beforeAll(async () => {
  // Layer 0 loses experts 1 and 2, every other MoE layer 0 and 7: the rows differ, so a mix-up of layers shows.
  await writePruned(DEMO, pruned, planFromSpec(moeShape(await readGgufLayout(DEMO)), '0:1,2;1:0,7;2:0,7;3:0,7;4:0,7;5:0,7'));
  server = await startMoeLensServe({ model: pruned });
});
afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('moe-lens serve of a pruned model', () => {
  it("reports the original expert ids in /v1/models' moe_lens meta", async () => {
    const list = (await (await fetch(`${server!.url}/v1/models`)).json()) as { data: { moe_lens: MoeLensModelMeta }[] };
    const meta = list.data[0].moe_lens;
    expect(meta.experts).toBe(6);
    expect(meta.original_experts).toBe(8);
    expect(meta.original_expert_ids?.['0']).toEqual([0, 3, 4, 5, 6, 7]);
    expect(Object.keys(meta.original_expert_ids ?? {}).map(Number)).toEqual(meta.moe_layers);
  });

  it("the remote engine's routing names the experts as the local load does, and the label says pruned", async () => {
    const local = (await localRouting(pruned))!;
    expect(local.originalExpertIds).toBeDefined();
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: server!.url });
    expect(info.remote?.server).toBe('moe-lens');
    expect(info.routing?.originalExpertIds).toEqual(local.originalExpertIds);
    expect(info.routing?.originalExperts).toBe(local.originalExperts);
    expect(info.routing?.originalExpertIds?.[1]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(formatModelLabel(info)).toBe(`${info.name} · pruned 6/8`);
  });
});

describe("a server's original expert ids are validated against its meta", () => {
  const base: MoeLensModelMeta = { context_size: 256, layers: 3, moe_layers: [1, 2], experts: 2, experts_per_token: 1, architecture: 'x', is_moe: true };
  const withIds = (ids: unknown, count: unknown = 4) => ({ ...base, original_expert_ids: ids, original_experts: count }) as MoeLensModelMeta;

  it('takes ids that fit: one row per MoE layer, one id per slot, each below the original count', () => {
    expect(moeLensOriginalIds(withIds({ 1: [0, 3], 2: [1, 2] }))).toEqual({ originalExpertIds: { 1: [0, 3], 2: [1, 2] }, originalExperts: 4 });
  });

  it('ignores any that do not', () => {
    const bad: [string, MoeLensModelMeta][] = [
      ['none', base],
      ['a row too long', withIds({ 1: [0, 3, 1], 2: [1, 2] })],
      ['a row too short', withIds({ 1: [0], 2: [1, 2] })],
      ['an id beyond the original count', withIds({ 1: [0, 4], 2: [1, 2] })],
      ['a negative id', withIds({ 1: [-1, 3], 2: [1, 2] })],
      ['a fractional id', withIds({ 1: [0.5, 3], 2: [1, 2] })],
      ['ids as strings', withIds({ 1: ['0', '3'], 2: [1, 2] })],
      ['a row that is a string', withIds({ 1: '0,3', 2: [1, 2] })],
      ['a layer missing', withIds({ 1: [0, 3] })],
      ['an extra layer', withIds({ 0: [0, 1], 1: [0, 3], 2: [1, 2] })],
      ['a layer the meta does not list', withIds({ 0: [0, 3], 2: [1, 2] })],
      ['the ids as an array', withIds([[0, 3], [1, 2]])],
      ['the ids as a string', withIds('{"1":[0,3],"2":[1,2]}')],
      ['the count as a string', withIds({ 1: [0, 3], 2: [1, 2] }, '4')],
      ['no count', { ...base, original_expert_ids: { 1: [0, 3], 2: [1, 2] } }],
      ['not more experts before than now', withIds({ 1: [0, 1], 2: [1, 0] }, 2)],
      ['moe_layers not a list', { ...withIds({ 1: [0, 3], 2: [1, 2] }), moe_layers: 'x' as unknown as number[] }],
      ['experts not a number', { ...withIds({ 1: [0, 3], 2: [1, 2] }), experts: '2' as unknown as number }],
    ];
    expect(bad.map(([what, meta]) => [what, moeLensOriginalIds(meta)])).toEqual(bad.map(([what]) => [what, {}]));
  });
});
