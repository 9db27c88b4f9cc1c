// The non-host path, on every CI run: llama.cpp's RPC backend with a ggml-rpc-server on 127.0.0.1 (built from the
// bundled source by scripts/llama-tools.mjs, started here and killed after). Its device is GPU-typed with non-host
// buffers, so the model's layers sit in buffers our capture and interventions reach only through
// ggml_backend_tensor_get/set, with graph splits between the device and the CPU, as on CUDA. For every MoE fixture
// architecture: routing (ids; weights within 1e-4, 1e-3 for the repacked Q4_K), a second turn on the reused prefix,
// ablation, force, a top-k override and perplexity equal the CPU run, with the experts on the device and with them in
// local RAM; the weight bytes llama.cpp allocates on the device equal the planner's (within 1 %, or the load log's
// 0.01 MiB resolution on these tiny files).
// Then the setting's grammar, and `moe-lens inspect --rpc`.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEngineError } from '../../extension/engine/errors';
import { rpcBackendPath, rpcServersSetting } from '../../extension/engine/rpc';
import type { CpuMoe, GgufModelInfo, Intervention } from '../../extension/engine/types';
import { releaseTag, rpcBackendPath as builtBackendPath } from '../../scripts/llama-tools.mjs';
import { freePort, startRpcServer } from '../../scripts/rpc-server';
import { collect, fixture, greedy, newEngine, ROOT, runCli, type Collected } from './helpers';

const engine = newEngine();
let stopServer = () => {};
let endpoint = '';

const TEXT = 'Experts route tokens: function f(x) { return x * 2; } and the answer.';
const PPL_TEXT = Array.from({ length: 12 }, (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog, then counts ${i * 7} sheep.`).join('\n');
// Flash attention off and an f32 KV cache: the same arithmetic on both sides of the comparison.
const EXACT = { contextSize: 256, flashAttention: false, kvCache: 'f32' as const };
const MOE_FIXTURES = readdirSync(`${ROOT}/fixtures`).filter((f) => /^moe-.*\.gguf$/.test(f)).sort();

beforeAll(async () => {
  ({ endpoint, stop: stopServer } = await startRpcServer());
}, 900_000);

afterAll(async () => {
  await engine.dispose();
  stopServer();
});

interface Run {
  plain: Collected;
  /** A second turn extending the first: its cached prefix is reused. */
  turn2: Collected;
  ablated: Collected;
  forced: Collected;
  topk?: Collected;
  perplexity: number;
}

/** The same work on whatever is loaded: a greedy answer, ablation, force, perplexity; then top-k + 1, reloaded. */
async function work(load: { modelPath: string; rpcServers?: string[]; cpuMoe?: CpuMoe }, model: GgufModelInfo): Promise<Run> {
  const request = { input: { kind: 'text' as const, text: TEXT }, sampling: greedy(8) };
  const plain = await collect(engine, request);
  const turn2 = await collect(engine, { input: { kind: 'text', text: `${TEXT}${plain.text} And then` }, sampling: greedy(4) });
  const ablated = await collect(engine, { ...request, intervention: { ablate: { '*': [0] } } satisfies Intervention });
  const forced = await collect(engine, { ...request, intervention: { force: { '*': [1] } } satisfies Intervention });
  const perplexity = (await engine.perplexity({ text: PPL_TEXT, context: 64, chunks: 2 })).perplexity;
  const { experts, expertsPerToken: k } = model.routing!;
  let topk: Collected | undefined;
  if (k < experts) {
    await engine.load({ ...load, ...EXACT, expertsPerToken: k + 1 });
    topk = await collect(engine, request);
  }
  return { plain, turn2, ablated, forced, topk, perplexity };
}

function expectSameRouting(a: Collected, b: Collected, tolerance: number): void {
  expect(b.tokens.map((t) => t.id)).toEqual(a.tokens.map((t) => t.id));
  b.tokens.forEach((t, i) => {
    expect(t.experts).toEqual(a.tokens[i].experts);
    t.weights.forEach((layer, l) => layer.forEach((w, r) => expect(Math.abs(w - a.tokens[i].weights[l][r])).toBeLessThan(tolerance)));
  });
}

function expectSameRun(cpu: Run, rpc: Run, tolerance: number): void {
  expectSameRouting(cpu.plain, rpc.plain, tolerance);
  // Prefix reuse across turns: the same tokens reused (the first evaluated index) and the rest equal.
  expect(rpc.turn2.tokens[0].index).toBeGreaterThan(0);
  expect(rpc.turn2.tokens[0].index).toBe(cpu.turn2.tokens[0].index);
  expectSameRouting(cpu.turn2, rpc.turn2, tolerance);
  expectSameRouting(cpu.ablated, rpc.ablated, tolerance);
  expectSameRouting(cpu.forced, rpc.forced, tolerance);
  if (cpu.topk) expectSameRouting(cpu.topk, rpc.topk!, tolerance);
  expect(Math.abs(rpc.perplexity - cpu.perplexity) / cpu.perplexity).toBeLessThan(tolerance);
}

/** The device's allocated weight bytes equal the plan: within 1 %, or the load log's resolution (it prints 0.01 MiB). */
function expectPlannedAllocation(model: GgufModelInfo): void {
  const devices = model.placement.devices!;
  expect(devices).toHaveLength(1);
  const [device] = devices;
  expect(device.endpoint).toBe(endpoint);
  expect(device.totalBytes).toBeGreaterThan(0);
  expect(Math.abs(device.allocatedBytes! - device.plannedBytes)).toBeLessThanOrEqual(Math.max(0.01 * device.plannedBytes, 0.005 * 2 ** 20 + 1));
}

it('the engine finds the RPC backend where scripts/llama-tools.mjs builds it', () => {
  expect(rpcBackendPath(releaseTag())).toBe(builtBackendPath());
});

describe.each(MOE_FIXTURES)('%s on an RPC device', (name) => {
  const modelPath = fixture(name);
  let cpu: Run;

  it('the CPU run', async () => {
    const model = await engine.load({ modelPath, ...EXACT });
    cpu = await work({ modelPath }, model);
    expect(cpu.plain.tokens.length).toBeGreaterThan(8);
  });

  it.each([
    ['experts on the device', 'none'],
    ['experts in local RAM', 'all'],
  ] as const)('%s: the same routing, interventions, top-k and perplexity; the planned bytes allocated', async (_what, cpuMoe) => {
    const load = { modelPath, rpcServers: [endpoint], cpuMoe };
    const model = await engine.load({ ...load, ...EXACT });
    expect(model.placement.backend).toBe('rpc');
    expectPlannedAllocation(model);
    if (cpuMoe === 'all') expect(model.placement.expertBytesOnGpu).toBe(0);
    else expect(model.placement.expertBytesInRam).toBe(0);
    // Q4_K: the local CPU repacks the weights (CPU_REPACK, interleaved kernels), the device computes with the plain
    // Q4_K kernel, so sums run in another order; the same experts, weights within 1e-3.
    expectSameRun(cpu, await work(load, model), name === 'moe-q4_k.gguf' ? 1e-3 : 1e-4);
  });

  it('experts of the first two layers in RAM: the planned bytes allocated', async () => {
    const model = await engine.load({ modelPath, rpcServers: [endpoint], cpuMoe: 2, ...EXACT });
    expect(model.placement.cpuMoeLayers).toBe(2);
    expectPlannedAllocation(model);
  });
});

describe('RPC servers that cannot be used', () => {
  it('another host without consent, a closed port and bad syntax are refused in one line, and the engine lives on', async () => {
    const modelPath = fixture('moe-llama.gguf');
    const remote = await engine.load({ modelPath, rpcServers: ['192.0.2.1:50052'] }).catch((e: unknown) => e);
    expect(isEngineError(remote, 'bad-rpc')).toBe(true);
    expect((remote as Error).message).toMatch(/192\.0\.2\.1:50052 is not on this machine: RPC is unauthenticated/);
    const closed = await engine.load({ modelPath, rpcServers: [`127.0.0.1:${await freePort()}`] }).catch((e: unknown) => e);
    expect(isEngineError(closed, 'rpc-unavailable')).toBe(true);
    expect((closed as Error).message).toMatch(/ECONNREFUSED/);
    const bad = await engine.load({ modelPath, rpcServers: ['localhost'] }).catch((e: unknown) => e);
    expect(isEngineError(bad, 'bad-rpc')).toBe(true);
    expect((await engine.load({ modelPath, rpcServers: [endpoint] })).placement.backend).toBe('rpc');
  });
});

describe('the RPC setting and flags', () => {
  it('one grammar for moeLens.rpcServers and --rpc: a list or HOST:PORT joined with commas; a bad entry named', () => {
    const texts = (value: unknown) => {
      const parsed = rpcServersSetting(value);
      return parsed.ok ? parsed.value.map((s) => s.text) : parsed.error;
    };
    expect(texts(['127.0.0.1:50052', ' [::1]:50053 '])).toEqual(['127.0.0.1:50052', '[::1]:50053']);
    expect(texts('box:1,127.0.0.1:2')).toEqual(['box:1', '127.0.0.1:2']);
    expect(texts([])).toEqual([]);
    expect(texts('127.0.0.1:99999')).toBe('bad RPC server "127.0.0.1:99999": expected HOST:PORT, e.g. 127.0.0.1:50052');
    expect(texts(42)).toBe('expected HOST:PORT[,HOST:PORT…]');
  });

  it('moe-lens inspect --rpc lists the device, its memory and the planned bytes; another host needs --allow-remote-rpc', async () => {
    await engine.unload(); // ggml-rpc-server serves one client at a time
    const model = fixture('moe-llama.gguf');
    const ok = await runCli('inspect', model, '--rpc', endpoint, '--cpu-moe', 'none');
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/backend\s+rpc/);
    expect(ok.stdout).toMatch(new RegExp(`device RPC\\d+\\s+${endpoint}: \\S+ \\S+ free of \\S+ \\S+; weights \\S+ \\S+ planned`));
    const remote = await runCli('inspect', model, '--rpc', '192.0.2.1:50052');
    expect(remote.code).not.toBe(0);
    expect(remote.stderr).toMatch(/192\.0\.2\.1:50052 is not on this machine: RPC is unauthenticated, so another host needs --allow-remote-rpc/);
    const bad = await runCli('inspect', model, '--rpc', 'nowhere');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad RPC server "nowhere"/);
  });
});
