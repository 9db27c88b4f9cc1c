// Builds the native addon against the exact llama.cpp source that node-llama-cpp's binaries were built
// from: the package ships it as a git bundle (llama/gitRelease.bundle), cloned offline into .cache/.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);
const llamaDir = path.join(root, 'node_modules', 'node-llama-cpp', 'llama');
const { tag } = JSON.parse(readFileSync(path.join(llamaDir, 'llama.cpp.info.json'), 'utf8'));
const source = path.join(root, '.cache', `llama.cpp-${tag}`);

if (!existsSync(path.join(source, 'include', 'llama.h'))) {
  mkdirSync(path.dirname(source), { recursive: true });
  execFileSync('git', ['clone', '--quiet', path.join(llamaDir, 'gitRelease.bundle'), source], { stdio: 'inherit' });
}

const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
// configure + build, not rebuild: make recompiles only what changed (gyp's makefiles also track command lines).
const args = [nodeGyp, 'configure', 'build', `--llama_src=${source}`, `--llama_release=${tag}`];
// Build against the running Node's headers where they are installed (no download).
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
execFileSync(process.execPath, args, { cwd: path.join(root, 'native'), stdio: 'inherit' });
