// The GPU check (scripts/gpu-check.sh) as far as a CPU allows: its prepared source configures, gguf-py writes its
// models from the project's descriptions (a valid GGUF whose tensor bytes are what the planner counts), the
// driver (the engine's native sources without N-API) builds against a CPU llama.cpp and runs, and the whole
// script runs in its CPU smoke mode. The driver's header facts and 'auto' plan equal model-file.ts's.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGgufHeader } from '../../extension/engine/gguf-header';
import { modelFacts, planPlacement, readModelFile, type ModelFacts } from '../../extension/engine/model-file';
import { GPU_CHECK_MODELS, prepare } from '../../scripts/gpu-check/prepare';
import { buildTools, toolsDir } from '../../scripts/llama-tools.mjs';
import { fixture, ROOT } from './helpers';

const SMALL = 'mixtral-small-q4_0';
let dir: string;
let report: string;
const work = () => path.join(dir, 'work');
const facts = async (file: string) => modelFacts(await readModelFile(file, await import('node-llama-cpp')));

beforeAll(() => {
  buildTools(['llama-bench']); // and libllama: a CPU build of the bundled llama.cpp, cached outside the repository
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moe-lens-gpu-check-test-'));
  prepare(path.join(dir, 'prep'));
  execFileSync('bash', [path.join(ROOT, 'scripts', 'gpu-check.sh')], {
    env: {
      ...process.env,
      GPU_CHECK_CPU: '1',
      GPU_CHECK_LLAMA_BUILD: path.join(toolsDir(), 'build'),
      GPU_CHECK_PREP: path.join(dir, 'prep'),
      GPU_CHECK_WORK: work(),
      GPU_CHECK_BENCH_MODEL: SMALL,
      GPU_CHECK_BIG_MODEL: SMALL,
      GPU_CHECK_THREADS: '1',
      GPU_CHECK_ROUNDS: '1',
      GPU_CHECK_GEN: '8',
      GPU_CHECK_PROMPT: '32',
      OUT: path.join(dir, 'out'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
  report = fs.readFileSync(path.join(dir, 'out', 'gpu-check.md'), 'utf8');
}, 600_000);
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('GPU check, prepared here', () => {
  it('carries the llama.cpp source for libllama, CUDA and llama-bench, and the model descriptions', () => {
    const listing = execFileSync('tar', ['-tJf', path.join(dir, 'prep', 'llama-src.tar.xz')], { encoding: 'utf8', maxBuffer: 1 << 26 }).split('\n');
    for (const file of ['llama/CMakeLists.txt', 'llama/include/llama.h', 'llama/ggml/src/ggml-cuda/CMakeLists.txt', 'llama/tools/llama-bench/llama-bench.cpp', 'llama/gguf-py/gguf/quants.py'])
      expect(listing).toContain(file);
    expect(listing.some((f) => f.startsWith('llama/ggml/src/ggml-vulkan'))).toBe(false);
    // Together with the working tree it must stay far below the 64 MiB that travel.
    const bytes = ['llama-src.tar.xz', 'models.json'].reduce((n, f) => n + fs.statSync(path.join(dir, 'prep', f)).size, 0);
    expect(bytes).toBeLessThan(8 * 2 ** 20);
    const models = JSON.parse(fs.readFileSync(path.join(dir, 'prep', 'models.json'), 'utf8')) as { name: string; tensors: { name: string; shape: number[]; type: number }[] }[];
    expect(models.map((m) => m.name)).toEqual(GPU_CHECK_MODELS);
    // Mixtral-8x7B's shape: 32 layers, n_embd 4096, 8 experts of n_ff 14336, Q4_0 (ggml type 2).
    const mixtral = models.find((m) => m.name === 'mixtral-8x7b-q4_0')!;
    expect(mixtral.tensors.filter((t) => t.name.endsWith('ffn_gate_inp.weight'))).toHaveLength(32);
    expect(mixtral.tensors.find((t) => t.name === 'blk.31.ffn_up_exps.weight')).toMatchObject({ shape: [4096, 14336, 8], type: 2 });
  });

  it('gguf-py writes a valid Q4_0 model whose tensor bytes are what the planner counts', async () => {
    const file = path.join(work(), 'models', `${SMALL}.gguf`);
    const header = validateGgufHeader(file, SMALL, fs.statSync(file).size);
    const model = await readModelFile(file, await import('node-llama-cpp'));
    // Each tensor's bytes as the planner counts them, padded to the file's alignment, tile the data section
    // exactly up to the end of the file.
    const padded = model.tensors.reduce((n, t) => n + Math.ceil(t.bytes / header.alignment) * header.alignment, 0);
    expect(padded).toBe(header.dataBytes);
    expect(header.dataOffset + header.dataBytes).toBe(fs.statSync(file).size);
    const f = modelFacts(model);
    expect(f.moeLayers).toEqual([0, 1]);
    expect(f.expertBytesByLayer.get(0)).toBe((3 * 256 * 512 * 8 * 18) / 32); // gate, up, down in Q4_0 blocks
  });
});

describe('GPU check, run in its CPU smoke mode', () => {
  it('reports every MoE offload mode with capture on and off, the buffers, and llama-bench', () => {
    expect(report).toContain(`## ${SMALL}`);
    for (const mode of ['none', 'auto (budget', 'all']) expect(report).toContain(`### ${SMALL} — MoE offload ${mode}`);
    expect(report).toContain('auto (budget 24000 MiB)');
    expect(report).toMatch(/CPU_Mapped model buffer [\d.]+ MiB/);
    for (const capture of ['on', 'off']) expect(report).toMatch(new RegExp(`\\| ${SMALL} \\| none \\| ${capture} \\| [\\d.]+ \\(`));
    expect(report).toMatch(/\|\s+pp32\s+\|\s+[\d.]+ ± [\d.]+ \|/);
    expect(report).toMatch(/\|\s+tg8\s+\|\s+[\d.]+ ± [\d.]+ \|/);
  });

  it.each(['moe-llama.gguf', 'moe-qwen35.gguf', 'moe-qwen2.gguf', `${SMALL}.gguf`])('the driver reads %s as model-file.ts does and plans auto as planPlacement', async (name) => {
    const file = name === `${SMALL}.gguf` ? path.join(work(), 'models', name) : fixture(name);
    const f: ModelFacts = await facts(file);
    const plan = (budgetBytes?: number) =>
      JSON.parse(execFileSync(path.join(work(), 'driver'), ['--model', file, '--plan-only', ...(budgetBytes === undefined ? [] : ['--cpu-moe', 'auto', '--vram-budget-mib', String(budgetBytes / 2 ** 20)])], { encoding: 'utf8' }));
    const driver = plan();
    expect(driver).toMatchObject({ layers: f.layers, experts: f.experts, k: f.expertsPerToken, moeLayers: f.moeLayers, weightBytes: f.weightBytes });
    expect(driver.decodeBytesPerToken).toBeCloseTo(f.decodeBytesPerToken, -1);
    // Budgets just above each step of the plan: both give the same number of layers with experts in RAM.
    const experts = [...f.expertBytesByLayer.entries()].sort((a, b) => a[0] - b[0]);
    for (let n = 0; n <= experts.length; n++) {
      const need = f.weightBytes - experts.slice(0, n).reduce((s, [, b]) => s + b, 0);
      const budget = need + 1000;
      const expected = planPlacement(f, { backend: 'cuda', gpuLayers: 99, cpuMoe: 'auto', freeVram: budget / 0.95, contextVram: 0 }).cpuMoeLayers;
      expect(plan(budget).cpuMoeLayers).toBe(expected);
    }
  });
});
