// Builds llama.cpp's own tools (llama-server, llama-perplexity, llama-bench, …) from the exact source that
// node-llama-cpp's binaries were built from, once per release tag, in a cache outside the repository.
//
//   node scripts/llama-tools.mjs [TARGET…]        build the targets (default: llama-server llama-perplexity)
//   node scripts/llama-tools.mjs --print-dir       print the bin directory (nothing is built)
//
// The cache is $MOE_LENS_TOOLS_CACHE, else $XDG_CACHE_HOME/moe-lens, else ~/.cache/moe-lens.
// Library code imports toolPath() from extension-free helpers (test/tools.ts) to find a built tool.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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

export function buildTools(targets) {
  const dir = toolsDir();
  const missing = targets.filter((t) => !existsSync(path.join(binDir(), t)));
  if (missing.length === 0) return;
  if (!existsSync(path.join(dir, 'include', 'llama.h'))) {
    mkdirSync(path.dirname(dir), { recursive: true });
    execFileSync('git', ['clone', '--quiet', path.join(llamaDir, 'gitRelease.bundle'), dir], { stdio: 'inherit' });
  }
  const build = path.join(dir, 'build');
  if (!existsSync(path.join(build, 'build.ninja'))) {
    execFileSync('cmake', ['-S', dir, '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON',
      '-DLLAMA_CURL=OFF', '-DLLAMA_OPENSSL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF'],
    { stdio: 'inherit' });
  }
  console.error(`building ${missing.join(', ')} in ${build} (once per llama.cpp release)`);
  execFileSync('cmake', ['--build', build, '--target', ...missing], { stdio: 'inherit' });
}

if (process.argv[1] && import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--print-dir')) {
    console.log(binDir());
  } else {
    buildTools(args.length > 0 ? args : ['llama-server', 'llama-perplexity']);
    console.log(binDir());
  }
}
