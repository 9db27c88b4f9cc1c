/**
 * Prepares what scripts/gpu-check.sh needs on a GPU machine that has no Node and fetches nothing:
 *
 *   npx tsx scripts/gpu-check/prepare.ts [--out .cache/gpu-check]
 *
 * writes, into an ignored folder that the device tool carries (`carry: [".cache/gpu-check"]`):
 *   llama-src.tar.xz  the bundled llama.cpp source (node-llama-cpp's release, as cloned by `npm run build:native`)
 *                     cut to what libllama, the CUDA backend and llama-bench need, with a tools/CMakeLists.txt
 *                     that adds llama-bench only, plus gguf-py (≈4 MB)
 *   models.json       the descriptions of the models to write there (scripts/gguf-py/write_model.py): the bench
 *                     model (fixtures/bench-moe.gguf's header, other random values) and the full-size
 *                     Mixtral-8x7B-shaped Q4_0 model, plus a small Q4_0 one for the CPU smoke test
 * The engine's own sources (native/src) travel as part of the working tree.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { describeModel } from '../fixtures/generate';
import { MODEL_SPECS } from '../fixtures/models';

const ROOT = path.resolve(__dirname, '..', '..');
export const GPU_CHECK_MODELS = ['bench-moe', 'mixtral-8x7b-q4_0', 'mixtral-small-q4_0'];

// What CMake reads for libllama, ggml (CPU and CUDA backends), common and llama-bench.
const KEEP = ['CMakeLists.txt', 'LICENSE', 'cmake', 'include', 'src', 'common', 'vendor', 'ggml', 'tools/llama-bench', 'gguf-py', 'licenses'];
const DROP_BACKENDS = ['blas', 'cann', 'et', 'hexagon', 'hip', 'metal', 'musa', 'opencl', 'openvino', 'rpc', 'sycl', 'virtgpu', 'vulkan', 'webgpu', 'zdnn', 'zendnn'];
const TOOLS_CMAKE = `# gpu-check: llama-bench only (the other tools are not in this copy of the source).
find_package(Threads REQUIRED)
llama_add_compile_flags()
add_subdirectory(llama-bench)
`;

export function llamaSourceDir(): string {
  const tag = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'node-llama-cpp', 'llama', 'llama.cpp.info.json'), 'utf8')).tag;
  const dir = path.join(ROOT, '.cache', `llama.cpp-${tag}`);
  if (!fs.existsSync(path.join(dir, 'include', 'llama.h'))) throw new Error(`${dir} is missing: run npm run build:native first`);
  return dir;
}

export function prepare(outDir: string): { source: string; models: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'moe-lens-gpu-check-'));
  try {
    const src = llamaSourceDir();
    const dst = path.join(stage, 'llama');
    for (const part of KEEP) {
      if (!fs.existsSync(path.join(src, part))) continue;
      fs.cpSync(path.join(src, part), path.join(dst, part), { recursive: true, dereference: true });
    }
    for (const backend of DROP_BACKENDS) fs.rmSync(path.join(dst, 'ggml', 'src', `ggml-${backend}`), { recursive: true, force: true });
    for (const dir of ['ggml/tests', 'ggml/examples', 'gguf-py/tests']) fs.rmSync(path.join(dst, dir), { recursive: true, force: true });
    fs.writeFileSync(path.join(dst, 'tools', 'CMakeLists.txt'), TOOLS_CMAKE);
    const source = path.join(outDir, 'llama-src.tar.xz');
    execFileSync('tar', ['-cJf', source, '-C', stage, 'llama'], { env: { ...process.env, XZ_OPT: '-6 -T0' } });
    const models = path.join(outDir, 'models.json');
    fs.writeFileSync(models, JSON.stringify(GPU_CHECK_MODELS.map((name) => describeModel(MODEL_SPECS[name]))));
    return { source, models };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]).replace(/\.ts$/, '') === path.join(__dirname, 'prepare');
if (invokedDirectly) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, '.cache', 'gpu-check') } } });
  const { source, models } = prepare(path.resolve(values.out!));
  for (const file of [source, models]) console.log(`${path.relative(ROOT, file)}: ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB`);
}
