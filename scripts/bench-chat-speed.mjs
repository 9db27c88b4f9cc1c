#!/usr/bin/env node
// Chat speed benchmark (not a test): how fast an answer reaches the screen in real VS Code (code-server +
// Chromium) against what the engine does alone (`moe-lens generate`), both on the built-in demo model with the
// engine on one thread, the same chat prompt, sampling and seed.
//
//   node scripts/bench-chat-speed.mjs [--runs 3] [--tokens 256] [--threads 1] [--prompt TEXT] [--no-build] [--profile]
//
// Per round (interleaved, so machine load hits every runner alike): `moe-lens generate demo --chat` (its tok/s),
// then one chat answer with the lens closed and one with it open (the answer shown as tokens coloured by expert).
// For each chat answer it prints the engine's own tok/s (the stats line), the on-screen tok/s (tokens shown ÷
// time from the first shown to the last shown, read in the webview at every DOM change), the browser's CPU time
// and the renderer's script / style / layout time per token (Chrome DevTools Protocol `Performance.getMetrics`),
// then the ratios chat ÷ CLI with their spread. The first answer also gives the first-token time a newcomer
// waits for (send → first text on screen, model load included). `--profile` prints the renderer's hottest
// functions (by self time) while the chat streams.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, ensureCodeServer, launchBrowser, startCodeServer } from './e2e/lib.mjs';
import { chatFrame, chatFrameHandle, openChat, sendPrompt, sideBarWidth, turns, until, waitForWorkbench } from './e2e/driver.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Math.max(1, Number(opt('runs', '3')));
const TOKENS = Number(opt('tokens', '256'));
const THREADS = Number(opt('threads', '1'));
const PROMPT = opt('prompt', 'The router picks two experts for every token, and');
const PROFILE = args.includes('--profile');
const SHOTS = path.join(ROOT, 'test-output', 'bench-chat-speed');
// The chat's sampling, given to the CLI as flags and to VS Code as settings (no stop strings, no system prompt:
// the demo continues text, and the chat sends it none).
const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, seed: 7 };

const log = (m) => console.log(`[bench-chat] ${m}`);
if (!args.includes('--no-build')) {
  log('building the extension (npm run build:ts)');
  const r = spawnSync('npm', ['run', 'build:ts'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * The processes to account, by kind: Chromium's (its browser process — the one whose command line names
 * `profileDir` — and its descendants, by `--type`), the engine process and the rest of code-server (its server
 * and extension host: process group `pgid`).
 */
function processKinds(profileDir, pgid) {
  const procs = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(rest[1]), pgrp: Number(rest[2]), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // exited
    }
  }
  const chromium = new Set([...procs].filter(([, p]) => p.cmd.includes(profileDir) && !p.cmd.includes('--type=')).map(([pid]) => pid));
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) {
      if (chromium.has(pid) || !chromium.has(p.ppid)) continue;
      chromium.add(pid);
      grew = true;
    }
  }
  const kinds = new Map();
  for (const [pid, p] of procs) {
    if (chromium.has(pid)) {
      const type = /--type=([\w-]+)/.exec(p.cmd)?.[1];
      kinds.set(pid, !type ? 'chromium browser' : type === 'renderer' ? 'chromium renderer' : type === 'gpu-process' ? 'chromium gpu' : 'chromium other');
    } else if (p.pgrp === pgid) kinds.set(pid, p.cmd.includes('engine-process.js') ? 'engine' : 'code-server + extension host');
  }
  return kinds;
}
const KINDS = ['chromium renderer', 'chromium browser', 'chromium gpu', 'chromium other', 'code-server + extension host', 'engine'];

/** CPU time (ms) used so far by each kind of process. */
function cpuByKind(kinds) {
  const out = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const [pid, kind] of kinds) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[kind] += ((Number(rest[11]) + Number(rest[12])) / 100) * 1000; // USER_HZ = 100
    } catch {
      // exited
    }
  }
  return out;
}

/** Samples every kind's CPU time every 20 ms until stopped; `between(a, b)` is the CPU used from wall time a to b. */
function cpuSampler(kinds) {
  const samples = [{ at: Date.now(), cpu: cpuByKind(kinds) }];
  const timer = setInterval(() => samples.push({ at: Date.now(), cpu: cpuByKind(kinds) }), 20);
  return {
    stop: () => clearInterval(timer),
    between(a, b) {
      const at = (t) => samples.reduce((best, x) => (Math.abs(x.at - t) < Math.abs(best.at - t) ? x : best));
      const [x, y] = [at(a), at(b)];
      return { ms: y.at - x.at, cpu: Object.fromEntries(KINDS.map((k) => [k, y.cpu[k] - x.cpu[k]])) };
    },
  };
}

// ---- the engine alone ----
function cliRun() {
  const flags = ['--chat', '-p', PROMPT, '-n', String(TOKENS), '--threads', String(THREADS), '-t', String(SAMPLING.temperature), '--top-k', String(SAMPLING.topK), '--top-p', String(SAMPLING.topP), '--min-p', String(SAMPLING.minP), '--repeat-penalty', String(SAMPLING.repeatPenalty), '-s', String(SAMPLING.seed), '--json', '--quiet'];
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'moe-lens.js'), 'generate', 'demo', ...flags], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`moe-lens generate failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]);
  const text = lines
    .slice(0, -1)
    .map((l) => JSON.parse(l))
    .filter((t) => t.phase === 'generated')
    .map((t) => t.text)
    .join('');
  return { tokS: summary.generatedTokensPerSecond, tokens: summary.generatedTokens, text };
}

// ---- the chat in code-server ----
const runDir = path.join(ROOT, '.cache', 'bench-chat-speed');
fs.rmSync(runDir, { recursive: true, force: true });
const extensionsDir = path.join(runDir, 'extensions');
const workspace = path.join(runDir, 'workspace');
fs.mkdirSync(extensionsDir, { recursive: true });
fs.mkdirSync(workspace, { recursive: true });
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
fs.symlinkSync(ROOT, path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`), 'dir');
const settings = {
  'moeLens.threads': THREADS,
  'moeLens.maxTokens': TOKENS,
  'moeLens.systemPrompt': '',
  ...Object.fromEntries(Object.entries(SAMPLING).map(([k, v]) => [`moeLens.${k}`, v])),
};
const cs = ensureCodeServer();
const server = await startCodeServer(cs, { runDir, extensionsDir, workspace, settings, log });
const profileDir = path.join(runDir, 'chromium-profile');
const context = await launchBrowser(profileDir);
const page = context.pages()[0] ?? (await context.newPage());
const cdp = await context.newCDPSession(page);
await cdp.send('Performance.enable');
const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));

/** In the webview: record, at every DOM change, how many of the streaming answer's tokens the store holds. */
const RECORDER = `(() => {
  const app = window.__moeLens;
  const rec = { samples: [] };
  rec.finished = new Promise((resolve) => (rec.done = resolve));
  window.__benchChat = rec;
  const before = app.store.turns.length;
  new MutationObserver(() => {
    const t = app.store.turns.slice(before).find((x) => x.info.role === 'assistant');
    if (!t) return;
    rec.turn = t.id;
    const n = t.routing.count;
    const last = rec.samples[rec.samples.length - 1];
    if (n > 0 && (!last || last.n !== n)) rec.samples.push({ t: performance.now(), n });
    if (t.info.status !== 'streaming') rec.done?.();
  }).observe(document.querySelector('[data-testid="transcript"]'), { subtree: true, childList: true, characterData: true });
  return true;
})()`;

const workbench = async () => {
  await page.goto(`${server.url}?folder=${encodeURIComponent(workspace)}`);
  await waitForWorkbench(page);
};

async function chatRun(lensOpen, label) {
  const frame = chatFrame(page);
  // New answers inherit the token view of the last one switched: on with the lens open (the answer streams as
  // tokens coloured by expert), off with it closed (text, or markdown for an assistant model).
  const lastToggle = turns(frame, 'assistant').last().locator('[data-testid="turn-lens-toggle"]');
  if ((await turns(frame, 'assistant').count()) && (await lastToggle.getAttribute('aria-pressed')) !== String(lensOpen)) await lastToggle.click();
  const lens = frame.locator('[data-testid="lens-toggle"]');
  if ((await lens.getAttribute('aria-pressed')) !== String(lensOpen)) await lens.click();
  // A fresh conversation each time: the answer's prompt is the same as the CLI's.
  if (await frame.locator('[data-testid="turn"]').count()) {
    await frame.locator('[data-testid="new-chat"]').click();
    await until(async () => (await frame.locator('[data-testid="turn"]').count()) === 0, { message: 'an empty conversation' });
  }
  const handle = await chatFrameHandle(page);
  // New turns inherit the token view with the lens open (the last choice), markdown with it closed.
  await handle.evaluate(RECORDER);
  const m0 = await metrics();
  const sampler = cpuSampler(processKinds(profileDir, server.pid));
  if (PROFILE) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  const t0 = await handle.evaluate(() => performance.now());
  await sendPrompt(frame, PROMPT);
  // Waited for inside the page: polling from here would cost the renderer work of its own.
  await handle.evaluate(() => window.__benchChat.finished);
  const wall = await handle.evaluate(() => performance.now());
  const m1 = await metrics();
  sampler.stop();
  if (PROFILE) printProfile(label, (await cdp.send('Profiler.stop')).profile);
  const r = await handle.evaluate(() => {
    const rec = window.__benchChat;
    const t = window.__moeLens.store.get(rec.turn);
    return { origin: performance.timeOrigin, samples: rec.samples, stats: t.info.stats, status: t.info.status, text: t.info.display, tokenSpans: document.querySelectorAll(`[data-turn-id="${rec.turn}"] [data-testid="token"]`).length, statsLine: document.querySelector(`[data-turn-id="${rec.turn}"] [data-testid="turn-stats"]`)?.textContent ?? '' };
  });
  if (r.status !== 'complete') throw new Error(`the answer ended ${r.status}`);
  const s = r.samples;
  const first = s[0];
  const last = s[s.length - 1];
  const tokens = r.stats.generatedTokens;
  const d = (k) => (m1[k] ?? 0) - (m0[k] ?? 0);
  // CPU while the answer streamed: from the first token on screen to the last.
  const streamed = sampler.between(r.origin + first.t, r.origin + last.t);
  return {
    label,
    lensOpen,
    tokens,
    shownTokS: last.t > first.t ? ((last.n - first.n) * 1000) / (last.t - first.t) : 0,
    engineTokS: r.stats.generatedTokensPerSecond,
    firstShownMs: first.t - t0,
    statsFirstTokenMs: r.stats.timeToFirstTokenMs,
    statsLine: r.statsLine,
    renders: s.length,
    tokenSpans: r.tokenSpans,
    text: r.text,
    wallMs: wall - t0,
    coresWhileStreaming: Object.fromEntries(KINDS.map((k) => [k, streamed.cpu[k] / streamed.ms])),
    cpuMsPerTokStreaming: Object.fromEntries(KINDS.map((k) => [k, streamed.cpu[k] / (last.n - first.n)])),
    // Renderer main thread (the workbench and its same-process webview frames) per token, ms.
    scriptMsPerTok: (d('ScriptDuration') * 1000) / tokens,
    styleMsPerTok: (d('RecalcStyleDuration') * 1000) / tokens,
    layoutMsPerTok: (d('LayoutDuration') * 1000) / tokens,
    taskMsPerTok: (d('TaskDuration') * 1000) / tokens,
    layoutsPerTok: d('LayoutCount') / tokens,
  };
}

function printProfile(label, profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const cf = byId.get(profile.samples[i]).callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url.split('/').pop().split('?')[0]}:${cf.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  console.log(`\n-- renderer profile: ${label} (self ms) --`);
  for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${v.toFixed(1).padStart(8)} ms  ${k}`);
}

const rounds = [];
let firstAnswer;
try {
  await workbench();
  await openChat(page);
  await sideBarWidth(page, 320);
  for (let round = 0; round < RUNS; round++) {
    const cli = cliRun();
    const closed = await chatRun(false, `round ${round + 1}, lens closed`);
    if (!firstAnswer) {
      // The first answer's stats line (model load included): the page, and the sidebar alone.
      firstAnswer = closed;
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'first-answer-1400x900.png') });
      const bar = await page.locator('.part.sidebar').boundingBox();
      if (bar) await page.screenshot({ path: path.join(SHOTS, 'first-answer-sidebar.png'), clip: bar });
    }
    const open = await chatRun(true, `round ${round + 1}, lens open`);
    if (closed.text !== cli.text) log(`note: the chat's answer differs from the CLI's (${JSON.stringify(closed.text.slice(0, 40))} vs ${JSON.stringify(cli.text.slice(0, 40))})`);
    rounds.push({ cli, closed, open });
    log(`round ${round + 1}: CLI ${cli.tokS.toFixed(0)} tok/s; lens closed: shown ${closed.shownTokS.toFixed(0)}, engine ${closed.engineTokS.toFixed(0)}; lens open: shown ${open.shownTokS.toFixed(0)}, engine ${open.engineTokS.toFixed(0)}`);
  }
} finally {
  await context.close().catch(() => {});
  await server.stop();
}

// ---- report ----
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs, d = 2) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
console.log(`\nChat speed — demo model, ${THREADS} engine thread(s), ${TOKENS}-token answers, T ${SAMPLING.temperature} seed ${SAMPLING.seed}, prompt ${JSON.stringify(PROMPT)}; code-server + headless Chromium 1400×900, a 320 px sidebar; ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; ${RUNS} interleaved rounds, median (min–max)\n`);
console.log(`First answer after start (model load included): first text on screen ${firstAnswer.firstShownMs.toFixed(0)} ms after Send; its stats line: "${firstAnswer.statsLine}"\n`);
console.log('| runner | tok/s | ratio to CLI | renders | renderer main thread: script / style / layout / all tasks, ms per token |');
console.log('|---|---:|---:|---:|---:|');
console.log(`| \`moe-lens generate\` (engine alone) | ${spread(rounds.map((r) => r.cli.tokS), 0)} | 1 | – | – |`);
const VIEWS = { closed: 'chat, lens closed (text)', open: 'chat, lens open (tokens coloured by expert)' };
for (const [key, name] of Object.entries(VIEWS)) {
  const rs = rounds.map((r) => r[key]);
  const m = (f) => median(rs.map(f)).toFixed(2);
  console.log(`| ${name}, on screen | ${spread(rs.map((x) => x.shownTokS), 0)} | ${spread(rounds.map((r) => r[key].shownTokS / r.cli.tokS))} | ${median(rs.map((x) => x.renders))} | ${m((x) => x.scriptMsPerTok)} / ${m((x) => x.styleMsPerTok)} / ${m((x) => x.layoutMsPerTok)} / ${m((x) => x.taskMsPerTok)} |`);
  console.log(`| ${name}, engine (stats line) | ${spread(rs.map((x) => x.engineTokS), 0)} | ${spread(rounds.map((r) => r[key].engineTokS / r.cli.tokS))} | – | – |`);
}
console.log('\nCPU while the answer streams (first token on screen to last; sampled every 20 ms from /proc): cores in use, and ms per token; median over rounds, the machine has 2 cores:\n');
console.log(`| view | ${KINDS.join(' | ')} |`);
console.log(`|---|${KINDS.map(() => '---:').join('|')}|`);
for (const [key, name] of Object.entries(VIEWS)) {
  const m = (field, k) => median(rounds.map((r) => r[key][field][k]));
  console.log(`| ${name} | ${KINDS.map((k) => `${m('coresWhileStreaming', k).toFixed(2)} (${m('cpuMsPerTokStreaming', k).toFixed(2)} ms)`).join(' | ')} |`);
}
console.log(`\nToken spans in the DOM at the end (lens open): ${rounds[0].open.tokenSpans}.`);
const goal = Math.min(median(rounds.map((r) => r.closed.shownTokS / r.cli.tokS)), median(rounds.map((r) => r.open.shownTokS / r.cli.tokS)));
console.log(`Lowest median on-screen ratio: ${goal.toFixed(2)} (goal ≥ 0.8).`);
