// Builds llama.cpp's own tools (llama-server, llama-perplexity, llama-bench, …) from the exact source that
// node-llama-cpp's binaries were built from, once per release tag, in a cache outside the repository.
//
//   node scripts/llama-tools.mjs [TARGET…]        build the targets (default: llama-server llama-perplexity)
//   node scripts/llama-tools.mjs --print-dir       print the bin directory (nothing is built)
//   node scripts/llama-tools.mjs --rpc             build ggml-rpc-server and the RPC backend the addon loads
//
// The cache is $MOE_LENS_TOOLS_CACHE, else $XDG_CACHE_HOME/moe-lens, else ~/.cache/moe-lens.
// Library code imports toolPath() from extension-free helpers (test/tools.ts) to find a built tool.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.dirname is missing where tsx loads this file into CommonJS (TypeScript scripts importing it).
const root = path.resolve(import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url)), '..');
const llamaDir = path.join(root, 'node_modules', 'node-llama-cpp', 'llama');

export function releaseTag() {
  return JSON.parse(readFileSync(path.join(llamaDir, 'llama.cpp.info.json'), 'utf8')).tag;
}

export function toolsDir() {
  const base = process.env.MOE_LENS_TOOLS_CACHE
    ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'moe-lens');
  return path.join(base, `llama.cpp-${releaseTag()}`);
}

export const binDir = () => path.join(toolsDir(), 'build', 'bin');

function cloneSource() {
  const dir = toolsDir();
  if (!existsSync(path.join(dir, 'include', 'llama.h'))) {
    mkdirSync(path.dirname(dir), { recursive: true });
    execFileSync('git', ['clone', '--quiet', path.join(llamaDir, 'gitRelease.bundle'), dir], { stdio: 'inherit' });
  }
}

export function buildTools(targets) {
  const dir = toolsDir();
  const missing = targets.filter((t) => !existsSync(path.join(binDir(), t)));
  if (missing.length === 0) return;
  cloneSource();
  const build = path.join(dir, 'build');
  if (!existsSync(path.join(build, 'build.ninja'))) {
    execFileSync('cmake', ['-S', dir, '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON',
      '-DLLAMA_CURL=OFF', '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF'],
    { stdio: 'inherit' });
  }
  console.error(`building ${missing.join(', ')} in ${build} (once per llama.cpp release)`);
  execFileSync('cmake', ['--build', build, '--target', ...missing], { stdio: 'inherit' });
}

// The RPC backend, two parts. ggml-rpc-server (serves a machine's devices over TCP) is a separate program:
// a plain build with GGML_RPC in its own build folder (the tools above are left as they are). The backend
// library the addon loads into the engine process must share node-llama-cpp's libggml-base (one copy of ggml
// in the process): it is compiled from the same source and linked against that library by its file name, so
// the dynamic loader finds the copy already loaded instead of a second one.
export const rpcServerPath = () => path.join(toolsDir(), 'build-rpc', 'bin', 'ggml-rpc-server');
export const rpcBackendPath = () => path.join(toolsDir(), 'rpc-backend', 'libggml-rpc.so');

export function buildRpc() {
  const dir = toolsDir();
  cloneSource();
  if (!existsSync(rpcServerPath())) {
    const build = path.join(dir, 'build-rpc');
    if (!existsSync(path.join(build, 'build.ninja'))) {
      execFileSync('cmake', ['-S', dir, '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON',
        '-DGGML_RPC=ON', '-DGGML_RPC_RDMA=OFF', '-DLLAMA_CURL=OFF', '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF',
        '-DLLAMA_BUILD_EXAMPLES=OFF'], { stdio: 'inherit' });
    }
    console.error(`building ggml-rpc-server in ${build} (once per llama.cpp release)`);
    execFileSync('cmake', ['--build', build, '--target', 'ggml-rpc-server'], { stdio: 'inherit' });
  }
  if (!existsSync(rpcBackendPath())) {
    const nlcBins = nodeLlamaCppBins();
    const out = rpcBackendPath();
    mkdirSync(path.dirname(out), { recursive: true });
    const src = path.join(dir, 'ggml', 'src');
    console.error(`building ${out} against ${nlcBins}/libggml-base.so`);
    execFileSync('g++', ['-std=c++17', '-O2', '-fPIC', '-shared', '-DGGML_BACKEND_DL', '-DGGML_BACKEND_BUILD',
      '-DGGML_BACKEND_SHARED', '-DGGML_SHARED', '-I', path.join(dir, 'ggml', 'include'), '-I', src,
      path.join(src, 'ggml-rpc', 'ggml-rpc.cpp'), path.join(src, 'ggml-rpc', 'transport.cpp'),
      '-L', nlcBins, '-l:libggml-base.so', '-Wl,-z,defs', '-pthread', '-o', `${out}.tmp`], { stdio: 'inherit' });
    renameSync(`${out}.tmp`, out);
  }
}

// The folder of node-llama-cpp's prebuilt CPU binaries for this platform (every variant's libggml-base has the
// same file name and ABI: one source release).
function nodeLlamaCppBins() {
  const platform = `${process.platform === 'darwin' ? 'mac' : process.platform}-${process.arch}`;
  return path.join(root, 'node_modules', '@node-llama-cpp', platform, 'bins', platform);
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--rpc')) {
    buildRpc();
    console.log(rpcServerPath());
    console.log(rpcBackendPath());
  } else if (args.includes('--print-dir')) {
    console.log(binDir());
  } else {
    buildTools(args.length > 0 ? args : ['llama-server', 'llama-perplexity']);
    console.log(binDir());
  }
}
