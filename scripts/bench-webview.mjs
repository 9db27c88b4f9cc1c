#!/usr/bin/env node
// Webview benchmark (not a test): loads the real webview bundle in headless Chromium and measures
//   1. streaming: synthetic `chat.frames` (32 layers, 8 experts, top-2) at increasing token rates, with the
//      streaming answer shown as coloured tokens (the heaviest view) and, separately, as markdown;
//   2. a 20,000-token conversation: time to load, to scroll through, and to select tokens.
// Usage: node scripts/bench-webview.mjs [--seconds 3] [--rates 0,100,250,500,1000,2000] [--repeat 2] [--json out.json] [--profile]
// Needs /usr/bin/chromium (apt-get install -y chromium), or $CHROMIUM.

import * as esbuild from 'esbuild';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './e2e/lib.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(opt('seconds', '3'));
const RATES = opt('rates', '0,100,250,500,1000,2000').split(',').map(Number);
const JSON_OUT = opt('json', '');
// Each rate runs REPEAT times and the run with the lower p95 frame time is reported: on a shared machine
// other processes steal whole frames at random, and the better run is the closer view of this code's cost.
const REPEAT = Math.max(1, Number(opt('repeat', '2')));
const LAYERS = 32;
const EXPERTS = 8;
const K = 2;
const ROOT = resolve(new URL('..', import.meta.url).pathname);
const OUT = join(ROOT, '.cache', 'bench-webview');

// ---- build the real bundle (same options as scripts/build.mjs' webview build) ----
mkdirSync(OUT, { recursive: true });
await esbuild.build({
  entryPoints: { webview: join(ROOT, 'webview/main.ts') },
  outdir: OUT,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: !args.includes('--profile'),
  loader: { '.css': 'css' },
  logLevel: 'error',
});

const html = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="webview.css">
<script>
  window.__posted = [];
  window.__state = JSON.parse(sessionStorage.getItem('benchState') || 'null');
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => window.__state,
    setState: (s) => { window.__state = s; },
  });
</script>
<style>
  body { --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace;
         --vscode-foreground: #ccc; --vscode-sideBar-background: #1e1e1e; --vscode-focusBorder: #007fd4;
         --vscode-charts-blue: #3794ff; --vscode-descriptionForeground: #999; }
</style>
</head><body class="vscode-dark"><div id="root"></div><script type="module" src="webview.js"></script></body></html>`;
writeFileSync(join(OUT, 'index.html'), html);

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const server = createServer((req, res) => {
  const path = join(OUT, decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html');
  if (!path.startsWith(OUT) || !existsSync(path)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': types[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' });
  res.end(readFileSync(path));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/index.html`;

const launchOptions = {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
};
// launchServer gives the browser's pid: CPU time of its process tree is a measure that other load on the
// machine distorts far less than frame times.
const browserServer = await chromium.launchServer(launchOptions);
const browserPid = browserServer.process().pid;
const browser = await chromium.connect(browserServer.wsEndpoint());

/** CPU time (ms) used so far by the browser and all its descendants (Linux /proc). */
function treeCpuMs() {
  const ticks = 100; // USER_HZ
  const procs = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(d), { ppid: Number(rest[1]), cpu: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // process exited
    }
  }
  let total = 0;
  const want = new Set([browserPid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, p] of procs) if (!want.has(pid) && want.has(p.ppid)) { want.add(pid); grew = true; }
  }
  for (const pid of want) total += procs.get(pid)?.cpu ?? 0;
  return (total / ticks) * 1000;
}

const browserVersion = browser.version();
const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
page.on('pageerror', (e) => console.error('page error:', e.message));
if (args.includes('--debug')) { page.on('console', (m) => m.text().startsWith('DEBUG') && console.log(m.text())); await page.addInitScript(() => { window.__debug = true; }); }

// ---- helpers evaluated in the page ----
const PAGE_HELPERS = `
window.__bench = (() => {
  const L = ${LAYERS}, E = ${EXPERTS}, K = ${K};
  let seed = 12345;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const WORDS = ['the', 'router', 'expert', 'token', 'layer', 'gate', 'weight', 'mixture', 'sparse', 'model', 'of', 'and', 'a', 'is'];
  function makeBlock(firstIndex, n) {
    const experts = new Uint16Array(n * L * K), weights = new Float32Array(n * L * K), ids = new Int32Array(n), texts = [];
    let prev = Array.from({ length: L }, () => Math.floor(rand() * E));
    for (let t = 0; t < n; t++) {
      const w = WORDS[Math.floor(rand() * WORDS.length)];
      const text = (t % 37 === 36 ? '\\n\\n' : ' ') + w;
      texts.push(text); ids[t] = 100 + Math.floor(rand() * 30000);
      for (let l = 0; l < L; l++) {
        const top = rand() < 0.3 ? prev[l] : Math.floor(rand() * E);
        let second = Math.floor(rand() * (E - 1)); if (second >= top) second++;
        const w0 = 0.5 + rand() * 0.5;
        const o = (t * L + l) * K;
        experts[o] = top; experts[o + 1] = second; weights[o] = w0; weights[o + 1] = 1 - w0;
        prev[l] = top;
      }
    }
    return { firstIndex, phase: 'generated', ids, texts, experts, weights, k: K, layers: L };
  }
  const send = (data) => window.dispatchEvent(new MessageEvent('message', { data }));
  const model = { isDemo: true, state: 'ready', captureRouting: true, info: {
    path: '/bench.gguf', name: 'bench-moe', architecture: 'llama', layers: L,
    routing: { moeLayers: Array.from({ length: L }, (_, i) => i), experts: E, expertsPerToken: K, sharedExperts: 0 }, totalParams: 0, activeParams: 0, embeddingLength: 0, vocabSize: 32000,
    trainContextLength: 32768, contextSize: 32768, fileBytes: 0, hasChatTemplate: true,
    placement: { backend: 'cpu', gpuLayers: 0, cpuMoeLayers: 0, weights: [], expertBytesInRam: 0, expertBytesOnGpu: 0, planned: false, notes: [] } } };
  const pct = (arr, p) => { if (!arr.length) return 0; const s = [...arr].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]; };
  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

  /** Stream 'seconds' of tokens at 'rate' tok/s, one chat.frames message every 'batchMs'. */
  async function stream(turnId, rate, seconds, tokens, batchMs) {
    const app = window.__moeLens;
    // Pre-build a pool of routing so the driver itself costs little inside the measurement.
    const pool = [makeBlock(0, 64), makeBlock(0, 64), makeBlock(0, 64), makeBlock(0, 64)];
    send({ type: 'chat.turnAdded', turn: { id: turnId, role: 'assistant', display: '', content: '', status: 'streaming', routing: [] } });
    app.flush();
    // Token view on or off for this turn (new turns inherit the last choice).
    const toggle = document.querySelector('[data-turn-id="' + turnId + '"] [data-testid="turn-lens-toggle"]');
    if ((toggle.getAttribute('aria-pressed') === 'true') !== tokens) { toggle.click(); app.flush(); }
    const base = { ...app.stats };
    const deltas = [], lags = [], longTasks = [];
    const po = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
    try { po.observe({ type: 'longtask', buffered: false }); } catch {}
    let sent = 0, running = true, last = performance.now(), maxLag = 0;
    const t0 = performance.now();
    const loop = () => {
      if (!running) return;
      const now = performance.now(); deltas.push(now - last); last = now;
      const lag = sent - (app.stats.tokensRendered - base.tokensRendered);
      lags.push(lag); maxLag = Math.max(maxLag, lag);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    let index = 0, poolI = 0, fence = false;
    await new Promise((done) => {
      const timer = setInterval(() => {
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= seconds) { clearInterval(timer); done(); return; }
        let due = Math.floor(rate * elapsed) - sent;
        const blocks = [];
        let text = '';
        while (due > 0) {
          const n = Math.min(due, 64);
          const src = pool[poolI++ % pool.length];
          const b = { ...src, firstIndex: index, ids: src.ids.subarray(0, n), texts: src.texts.slice(0, n), experts: src.experts.subarray(0, n * L * K), weights: src.weights.subarray(0, n * L * K) };
          blocks.push(b); text += b.texts.join('');
          if (index % 400 > (index + n) % 400) { text += fence ? '\\n\`\`\`\\n\\n' : '\\n\\n\`\`\`js\\nconst x = 1;'; fence = !fence; }
          index += n; sent += n; due -= n;
        }
        if (blocks.length) send({ type: 'chat.frames', turnId, textDelta: text, routing: blocks });
      }, batchMs);
    });
    // Let rendering drain.
    for (let i = 0; i < 10; i++) await nextFrame();
    running = false; po.disconnect();
    const rendered = app.stats.tokensRendered - base.tokensRendered;
    send({ type: 'chat.turnUpdated', turn: { id: turnId, role: 'assistant', display: document.querySelector('[data-turn-id="' + turnId + '"]') ? window.__moeLens.store.get(turnId).info.display : '', content: '', status: 'complete' } });
    app.flush();
    const d = deltas.slice(1);
    return {
      // Kept up: every token rendered by the end, and the backlog at the 95th percentile of frames within
      // three host batches (a single stall of the machine may spike the max, which is reported too).
      rate, sent, rendered, keptUp: rendered === sent && pct(lags, 0.95) <= Math.ceil((rate * batchMs) / 1000) * 3 + 8,
      maxLag, lagP95: pct(lags, 0.95), frames: d.length, p50: pct(d, 0.5), p95: pct(d, 0.95), max: Math.max(0, ...d),
      dropped: d.filter((x) => x > 1.5 * (1000 / 60)).length, longTasks: longTasks.length, longTaskMax: Math.max(0, ...longTasks),
      domSpans: document.querySelectorAll('[data-testid="token"]').length,
      wallS: (performance.now() - t0) / 1000,
    };
  }

  /** A conversation of 'turns' turns × 'per' tokens, all with routing. */
  function conversation(turns, per) {
    const list = [];
    for (let i = 0; i < turns; i++) {
      const b = makeBlock(0, per);
      const text = b.texts.join('');
      list.push({ id: 'c' + i, role: i % 2 ? 'assistant' : 'user', display: text, content: text, status: 'complete', routing: [b] });
    }
    return list;
  }

  async function bigConversation(turns, per, tokens) {
    const app = window.__moeLens;
    const snapshot = { protocolVersion: 1, turns: conversation(turns, per), model, moeLayers: model.info.routing.moeLayers };
    const tLoad = performance.now();
    send({ type: 'snapshot', snapshot });
    app.flush();
    await nextFrame();
    const loadMs = performance.now() - tLoad;
    // (The token view of every turn comes from the saved UI state the page was loaded with.)
    if (tokens && document.querySelectorAll('[data-testid="turn-lens-toggle"][aria-pressed="true"]').length !== turns) throw new Error('token view state not applied');
    const scroller = document.querySelector('[data-testid="transcript"]');
    if (window.__debug) console.log('DEBUG', scroller.scrollHeight, scroller.clientHeight, document.querySelector('[data-testid="lens"]').clientHeight, document.querySelectorAll('.turn.parked').length, document.querySelectorAll('.chunk.parked').length);
    scroller.scrollTop = 0;
    await nextFrame();
    await nextFrame();
    if (window.__debug) console.log('DEBUG top', scroller.scrollTop, scroller.scrollHeight);
    const deltas = [];
    let last = performance.now();
    const t0 = performance.now();
    let maxSpans = 0;
    while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 2) {
      const before = scroller.scrollTop;
      scroller.scrollTop += Math.round(scroller.clientHeight * 0.5);
      await nextFrame();
      if (window.__debug) console.log('DEBUG step', before, scroller.scrollTop, scroller.scrollHeight, scroller.clientHeight);
      const now = performance.now(); deltas.push(now - last); last = now;
      maxSpans = Math.max(maxSpans, document.querySelectorAll('[data-testid="token"]').length);
      if (deltas.length > 5000) break;
    }
    const scrollMs = performance.now() - t0;
    // Select tokens: click one, then walk 200 tokens with ArrowRight (each renders the 32×8 grid).
    let selectTimes = [];
    if (tokens) {
      const spans = document.querySelectorAll('[data-testid="token"]');
      const start = spans[Math.floor(spans.length / 2)];
      // Each timing covers the key handling and the grid render (flushed at once instead of on the next frame).
      let t = performance.now(); start.click(); app.flush(); selectTimes.push(performance.now() - t);
      for (let i = 0; i < 200; i++) {
        const active = document.activeElement && document.activeElement.dataset.testid === 'token' ? document.activeElement : start;
        t = performance.now();
        active.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
        app.flush();
        selectTimes.push(performance.now() - t);
        if (i % 20 === 0) await nextFrame();
      }
      if (document.querySelector('[data-testid="token-detail"]')?.dataset.index === undefined) throw new Error('no token selected');
    }
    const grid = document.querySelectorAll('[data-testid="grid-cell"]').length;
    return {
      turns, tokens: turns * per, view: tokens ? 'tokens' : 'markdown', loadMs, scrollSteps: deltas.length, scrollMs,
      scrollP50: pct(deltas, 0.5), scrollP95: pct(deltas, 0.95), scrollMax: Math.max(0, ...deltas),
      maxSpansInDom: maxSpans, domNodes: document.getElementsByTagName('*').length,
      selectMean: selectTimes.length ? selectTimes.reduce((a, b) => a + b, 0) / selectTimes.length : 0,
      selectP95: pct(selectTimes, 0.95), selectMax: Math.max(0, ...selectTimes), gridCells: grid,
    };
  }

  return { stream, bigConversation, send, model };
})();
`;

async function freshPage(state = null) {
  await page.goto(url);
  await page.evaluate((st) => (st ? sessionStorage.setItem('benchState', JSON.stringify(st)) : sessionStorage.removeItem('benchState')), state);
  await page.reload();
  await page.waitForFunction(() => window.__moeLens && window.__posted.some((m) => m.type === 'ready'));
  await page.evaluate(PAGE_HELPERS);
  await page.evaluate(() => {
    const b = window.__bench;
    if (!window.__state) b.send({ type: 'snapshot', snapshot: { protocolVersion: 1, turns: [], model: b.model, moeLayers: b.model.info.routing.moeLayers } });
    window.__moeLens.flush();
  });
}

// --profile: CPU profile of each phase (top functions by self time), for finding hot spots.
const PROFILE = args.includes('--profile');
let cdp;
async function profileStart() {
  if (!PROFILE) return;
  cdp ??= await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
}
async function profileStop(label) {
  if (!PROFILE) return;
  const { profile } = await cdp.send('Profiler.stop');
  const self = new Map();
  const dt = profile.timeDeltas;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const n = byId.get(profile.samples[i]);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url.split('/').pop()}:${cf.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  console.log(`\n-- profile: ${label} --`);
  for (const [k, v] of top) console.log(`${v.toFixed(1).padStart(8)} ms  ${k}`);
}

const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : String(v));
const results = { streaming: {}, conversation: [] };

for (const view of ['tokens', 'markdown']) {
  await freshPage();
  // Warm-up (not reported): JIT, first lens render, component set-up.
  await page.evaluate(([tokens]) => window.__bench.stream('warm', 200, 1, tokens, 25), [view === 'tokens']);
  const rows = [];
  for (const rate of RATES) {
    let best;
    for (let rep = 0; rep < REPEAT; rep++) {
      await profileStart();
      const cpu0 = treeCpuMs();
      const r = await page.evaluate(([id, rate, s, tokens]) => window.__bench.stream(id, rate, s, tokens, 25), [`s${rate}-${rep}`, rate, SECONDS, view === 'tokens']);
      r.cpuMsPerSec = (treeCpuMs() - cpu0) / r.wallS;
      r.runs = REPEAT;
      await profileStop(`${view} ${rate} tok/s`);
      if (!best || r.p95 < best.p95) best = r;
    }
    rows.push(best);
  }
  results.streaming[view] = rows;
}

for (const tokens of [true, false]) {
  // Token view: the page starts with saved UI state that shows every turn as tokens (ids c0..c39).
  await freshPage(tokens ? { v: 1, tokenTurns: Array.from({ length: 40 }, (_, i) => `c${i}`), lensOpen: true, mode: 'mode', tab: 'token' } : null);
  await profileStart();
  const cpu0 = treeCpuMs();
  const c = await page.evaluate(([t]) => window.__bench.bigConversation(40, 500, t), [tokens]);
  c.cpuMs = treeCpuMs() - cpu0;
  results.conversation.push(c);
  await profileStop(`conversation ${tokens ? 'tokens' : 'markdown'}`);
}

await browser.close();
await browserServer.close();
server.close();

// ---- report ----
const { loadavg, cpus } = await import('node:os');
console.log(`\nMachine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end of the run`);
console.log(`\nMoE Lens webview benchmark — headless Chromium ${browserVersion}, viewport 420×900, routing ${LAYERS} layers × ${EXPERTS} experts, top-${K}, frames every 25 ms, ${SECONDS} s per rate, best of ${REPEAT} runs per rate (lower p95)\n`);
for (const [view, rows] of Object.entries(results.streaming)) {
  console.log(`Streaming, answer shown as ${view === 'tokens' ? 'coloured token spans (lens on)' : 'markdown'}:`);
  console.log('| tok/s | sent | rendered | kept up | backlog p95 / max (tok) | frames | p50 ms | p95 ms | max ms | frames >25 ms | long tasks >50 ms (max ms) | browser CPU ms/s |');
  console.log('|---:|---:|---:|:--:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    r.jank = r.frames ? r.dropped / r.frames : 0;
    console.log(`| ${r.rate} | ${r.sent} | ${r.rendered} | ${r.keptUp ? 'yes' : 'NO'} | ${r.lagP95} / ${r.maxLag} | ${r.frames} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | ${r.dropped} (${fmt(r.jank * 100, 0)}%) | ${r.longTasks} (${fmt(r.longTaskMax, 0)}) | ${fmt(r.cpuMsPerSec, 0)} |`);
  }
  // Sustained: kept up (above), a steady 60 Hz median frame, and no more late frames than the idle page
  // shows on this machine plus 10 points (a loaded shared machine drops frames even when idle).
  const idle = rows.find((r) => r.rate === 0);
  const idleJank = idle ? idle.jank : 0;
  const sustained = rows.filter((r) => r.rate > 0 && r.keptUp && r.p50 <= 18 && r.jank <= idleJank + 0.1).map((r) => r.rate);
  console.log(`Highest sustained rate (all rendered, backlog bounded, p50 ≤ 18 ms, late frames ≤ idle ${fmt(idleJank * 100, 0)}% + 10 points): ${sustained.length ? Math.max(...sustained) : 'none'} tok/s\n`);
  results.streaming[`${view}Sustained`] = sustained.length ? Math.max(...sustained) : 0;
}
console.log('20,000-token conversation (40 turns × 500 tokens, all with routing; load = snapshot to first painted frame; select = one token by click, then 200 × ArrowRight, each re-rendering the 32 × 8 grid):');
console.log('| view | load ms | scroll steps (½ viewport each) | scroll total ms | frame p50 | p95 | max | max token spans in DOM | select mean ms | select p95 | select max | browser CPU ms (whole phase) |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const c of results.conversation) {
  console.log(`| ${c.view} | ${fmt(c.loadMs)} | ${c.scrollSteps} | ${fmt(c.scrollMs, 0)} | ${fmt(c.scrollP50)} | ${fmt(c.scrollP95)} | ${fmt(c.scrollMax)} | ${c.maxSpansInDom} | ${c.view === 'tokens' ? fmt(c.selectMean, 2) : '–'} | ${c.view === 'tokens' ? fmt(c.selectP95, 2) : '–'} | ${c.view === 'tokens' ? fmt(c.selectMax, 2) : '–'} | ${fmt(c.cpuMs, 0)} |`);
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
