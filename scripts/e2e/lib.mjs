// End-to-end harness: code-server (real VS Code in the browser) driven by playwright-core + Debian chromium.
import { execFile, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUT_DIR = path.join(ROOT, 'test-output', 'e2e');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
export const EXTENSION_ID = `${PKG.publisher}.${PKG.name}`;
export const EXTENSION_VERSION = PKG.version;
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Headless Chromium flags shared by the e2e runs and the webview benchmark (test/webview/browser-sanitize.test.ts has its own copy: TypeScript cannot import this file). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Installs (or finds cached) code-server; returns the node binary and code-server entry point. */
export function ensureCodeServer() {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'e2e', 'install-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`install-code-server.sh failed (${r.status})`);
  const vars = Object.fromEntries(r.stdout.trim().split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  if (!vars.NODE || !vars.CODE_SERVER) throw new Error(`unexpected installer output: ${r.stdout}`);
  return { node: vars.NODE, entry: vars.CODE_SERVER };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function writeUserSettings(userDataDir, extra = {}) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  const settings = {
    'chat.disableAIFeatures': true,
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'update.mode': 'none',
    'window.restoreWindows': 'none',
    'editor.minimap.enabled': false,
    'workbench.editor.enablePreview': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    ...extra,
  };
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

/**
 * Starts code-server in its own process group (detached = setsid), waits for /healthz, returns { url, stop }.
 * Everything it writes (user data, extensions, XDG dirs, log) stays in `runDir`.
 */
export async function startCodeServer({ node, entry }, { runDir, extensionsDir, workspace, settings = {}, log = () => {}, port: wantedPort }) {
  const userDataDir = path.join(runDir, 'user-data');
  fs.mkdirSync(userDataDir, { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  // Keep a user's own edits between `npm start` runs; tests always start from the harness settings.
  if (!(wantedPort && fs.existsSync(settingsFile))) writeUserSettings(userDataDir, settings);
  const port = wantedPort ?? (await freePort());
  const logFile = path.join(runDir, 'code-server.log');
  const out = fs.openSync(logFile, 'a');
  const env = {
    ...process.env,
    PATH: `${path.dirname(node)}:${process.env.PATH}`,
    XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(runDir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(runDir, 'xdg-cache'),
    VSCODE_CLI_DISABLE_TELEMETRY: '1',
  };
  const args = [
    entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    workspace,
  ];
  const child = spawn(node, args, { env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}/`;
  const started = Date.now();
  for (;;) {
    if (exited) throw new Error(`code-server exited early; see ${logFile}\n${tail(logFile)}`);
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() - started > 60_000) throw new Error(`code-server did not become healthy in 60 s; see ${logFile}`);
    await sleep(200);
  }
  log(`code-server up on ${url} in ${Date.now() - started} ms`);
  const stop = async () => {
    if (exited) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 50 && !exited; i++) await sleep(100);
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  return { url, port, pid: child.pid, userDataDir, logFile, stop };
}

export function installVsix({ node, entry }, { runDir, extensionsDir, vsix }) {
  const userDataDir = path.join(runDir, 'user-data');
  const r = spawnSync(node, [entry, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, XDG_CONFIG_HOME: path.join(runDir, 'xdg-config'), XDG_DATA_HOME: path.join(runDir, 'xdg-data') },
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`--install-extension failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Runs this checkout's `moe-lens` CLI (quiet) and returns its stdout; a non-zero exit rejects with its stderr. */
export function moeLensCli(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'bin', 'moe-lens.js'), ...args, '--quiet'], { cwd: ROOT, maxBuffer: 256 << 20, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`moe-lens ${args.join(' ')}: ${stderr || error.message}`)) : resolve(stdout));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every file under `dir` (recursively; none if `dir` does not exist) whose full path passes `test`. */
export function findFiles(dir, test, found = []) {
  for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) findFiles(p, test, found);
    else if (test(p)) found.push(p);
  }
  return found;
}

/** The newest log file of the extension's "MoE Lens" output channel under a code-server user data dir, if any. */
export function extensionLogFile(userDataDir) {
  return findFiles(path.join(userDataDir, 'logs'), (p) => /MoE Lens\.log$/i.test(p)).sort().pop();
}

export async function launchBrowser(profileDir) {
  const { chromium } = await import('playwright-core');
  fs.mkdirSync(profileDir, { recursive: true });
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [...CHROMIUM_ARGS, '--disable-dev-shm-usage'],
  });
  return context;
}

/** Processes of process group `pgid` (code-server's: it runs under setsid) whose command line contains `needle`. */
export function processesMatching(needle, pgid) {
  const found = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (cmd.includes(needle) && (pgid === undefined || group === pgid)) found.push({ pid: Number(pid), cmd });
    } catch {
      // exited
    }
  }
  return found;
}
