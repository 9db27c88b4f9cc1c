#!/usr/bin/env node
// `npm start`: build the extension and open it in VS Code.
//  - desktop VS Code (`code` on PATH): code --extensionDevelopmentPath=<repo> [folder]
//  - otherwise code-server (installed/cached by scripts/e2e/install-code-server.sh) on 127.0.0.1, URL printed,
//    on the built-in demo model (models/demo/demo-moe.gguf) unless moeLens.modelPath says otherwise.
// The workspace is a scratch folder (.cache/start/workspace) so evals and exports do not land in the checkout;
// --folder DIR opens another.
//
//   npm start [-- --port 8080] [-- --folder DIR] [-- --no-build]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXTENSION_ID, EXTENSION_VERSION, ROOT, ensureCodeServer, freePort, startCodeServer } from './e2e/lib.mjs';

const args = process.argv.slice(2);
const opt = (name) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const log = (m) => console.log(`[start] ${m}`);

function run(cmd, argv, what) {
  log(what);
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[start] ${what} failed`);
    process.exit(r.status ?? 1);
  }
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

if (!args.includes('--no-build')) {
  if (!fs.existsSync(path.join(ROOT, 'native/build/Release/moe_lens.node'))) run('npm', ['run', 'build:native'], 'building the native addon');
  run('npm', ['run', 'build:ts'], 'building the extension');
}

const folder = path.resolve(opt('folder') ?? path.join(ROOT, '.cache', 'start', 'workspace'));
fs.mkdirSync(folder, { recursive: true });

if (onPath('code') && !args.includes('--code-server')) {
  log(`opening desktop VS Code with the extension from ${ROOT}`);
  const child = spawn('code', [`--extensionDevelopmentPath=${ROOT}`, folder], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const cs = ensureCodeServer();
  const runDir = path.join(ROOT, '.cache', 'start');
  const extensionsDir = path.join(runDir, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  const link = path.join(extensionsDir, `${EXTENSION_ID}-${EXTENSION_VERSION}`);
  fs.rmSync(link, { force: true, recursive: false });
  fs.symlinkSync(ROOT, link, 'dir');

  const port = Number(opt('port') ?? process.env.PORT ?? (await freePort()));
  const server = await startCodeServer(cs, {
    runDir,
    extensionsDir,
    workspace: folder,
    settings: {},
    log,
    port,
  });
  const url = `${server.url}?folder=${encodeURIComponent(folder)}`;
  console.log(`\n  MoE Lens in code-server: ${url}\n  (log: ${server.logFile}; Ctrl+C stops it)\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => {}, 1 << 30);
}
