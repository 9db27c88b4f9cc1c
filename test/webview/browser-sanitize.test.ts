// Hostile model output in the real webview bundle, in real (headless) Chromium, under the extension's own
// strict CSP. happy-dom (the other webview tests) cannot exercise DOMPurify, so this is the test of the
// sanitizer as it actually runs: marked → DOMPurify → allowlist pass (webview/markdown.ts).
//
// The page is extension/vscode/html.ts' buildPage() — the same markup and Content-Security-Policy meta tag the
// chat view gets, with this server's origin as the webview's cspSource — served from 127.0.0.1. A nonce'd
// module script before the bundle installs a fake acquireVsCodeApi; the test answers `ready` with a snapshot
// of assistant turns full of XSS payloads (and streams the same payloads in `chat.frames` chunks split
// mid-tag), clicks every link and button rendered from model output, hovers everything, and then checks that
// no payload ran or even tried to run. A CSP violation fails the test: the CSP is the last line of defence and
// the sanitizer must not rely on it. (Chromium reports violations for inline handlers and styles even in
// documents that are only parsed, such as DOMPurify's: raw model markup must not reach any parser, since marked
// is set to show raw HTML as text.)
//
// Needs dist/webview/webview.js (`npm test` builds it first; `npm run build:ts` builds it alone) and Chromium at
// /usr/bin/chromium (or $CHROMIUM, as for the e2e runs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildPage, makeNonce } from '../../extension/vscode/html';
import { WEBVIEW_ASSETS, type ChatTurn, type HostToWebview } from '../../extension/protocol';
import { modelSummary, snapshot, turn } from './harness';

const ROOT = resolve(__dirname, '../..');
const BUNDLE = join(ROOT, WEBVIEW_ASSETS.script);
const STYLE = join(ROOT, WEBVIEW_ASSETS.style);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The flags of CHROMIUM_ARGS in scripts/e2e/lib.mjs.
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// ---- payloads ----

interface Payload {
  id: string;
  /** Model output (markdown with raw HTML). */
  md: string;
  /** Harmless text that must still be visible after sanitizing. */
  visible: string[];
  /** Text that must be shown verbatim inside a <code> element. */
  code?: string[];
}

const PAYLOADS: Payload[] = [
  { id: 'script', md: '<script>window.__pwned=1</script>\n\nInline <script>window.__pwned=1</script> script.', visible: ['Inline', 'script.'] },
  { id: 'img-onerror', md: '<img src=x onerror="window.__pwned=2">\n\nInline <img src=x onerror="window.__pwned=2"> image and <IMG SRC=x OnErRoR=window.__pwned=2>.', visible: ['Inline', 'image and'] },
  { id: 'svg', md: '<svg onload="window.__pwned=3"><script>window.__pwned=4</script></svg>\n\nText <svg><animate onbegin="window.__pwned=3" attributeName=x dur=1s></svg> after.', visible: ['Text', 'after.'] },
  { id: 'iframe', md: '<iframe src="javascript:window.__pwned=5"></iframe>\n\n<iframe srcdoc="<script>parent.__pwned=5</script>"></iframe> framed.', visible: ['framed.'] },
  {
    id: 'javascript-links',
    md: [
      '[click](javascript:window.__pwned=6)',
      '[upper](JaVaScRiPt:window.__pwned=6)',
      '[entity](&#106;avascript:window.__pwned=6)',
      '[angle](<javascript:window.__pwned=6>)',
      '[ref-link][evil]',
      '<javascript:window.__pwned=6>',
      '[vb](vbscript:msgbox(1))',
      '[titled](javascript:window.__pwned=6 "a title")',
      '',
      '[evil]: javascript:window.__pwned=6',
    ].join('\n'),
    visible: ['click', 'upper', 'entity', 'angle', 'ref-link', 'vb', 'titled'],
  },
  {
    id: 'command-links',
    md: [
      '[cmd](command:workbench.action.reloadWindow)',
      '[cmd-args](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%20-rf%20~%5Cn%22%7D)',
      '<command:workbench.action.reloadWindow>',
      '[cmd-ref][c]',
      '[vscode-uri](vscode://ms-vscode.remote/evil) [file](file:///etc/passwd)',
      '',
      '[c]: command:workbench.action.reloadWindow',
    ].join('\n'),
    visible: ['cmd', 'cmd-args', 'cmd-ref', 'vscode-uri', 'file'],
  },
  {
    id: 'images',
    md: '![x](x" onerror="window.__pwned=7)\n\n![pic](javascript:window.__pwned=7) ![svgdata](data:image/svg+xml,%3Csvg%20onload%3Dalert(1)%3E) ![remote](https://example.com/track.png)',
    visible: ['pic', 'svgdata', 'remote'],
  },
  {
    id: 'data-urls',
    md: '<a href="data:text/html,<script>alert(1)</script>">d</a>\n\n[data-link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) and [data-plain](data:text/html,%3Cscript%3Ealert(1)%3C/script%3E)',
    visible: ['data-link', 'data-plain'],
  },
  {
    id: 'mutation-xss',
    md: [
      '<math><mtext><table><mglyph><style><img src=x onerror=window.__pwned=8>',
      '',
      '<noscript><p title="</noscript><img src=x onerror=window.__pwned=8>">',
      '',
      '<svg></p><style><a id="</style><img src=1 onerror=window.__pwned=8>">',
      '',
      '<form><math><mtext></form><form><mglyph><style></math><img src onerror=window.__pwned=8>',
      '',
      'Mutation survivor text.',
    ].join('\n'),
    visible: ['Mutation survivor text.'],
  },
  {
    id: 'forms',
    md: '<form action="javascript:window.__pwned=10"><button>submit-me</button></form>\n\nA <button formaction="javascript:window.__pwned=10">fa</button> and <input type=image src=x onerror=window.__pwned=10> and <input autofocus onfocus=window.__pwned=10>.',
    visible: ['and'],
  },
  { id: 'details', md: '<details open ontoggle="window.__pwned=9"><summary>sum</summary>inside</details>\n\nAfter the details.', visible: ['After the details.'] },
  {
    id: 'styles',
    md: '<style>body{background:url(javascript:window.__pwned=11)}</style>\n\n<div style="background:url(javascript:window.__pwned=11)">styled</div>\n\n<link rel=stylesheet href="//127.0.0.1/evil.css"> linked.',
    visible: ['linked.'],
  },
  {
    id: 'code',
    md: [
      'Code follows.',
      '',
      '```html',
      '<img src=x onerror="window.__pwned=12">',
      '<button onclick="window.__pwned=13">b</button>',
      '```',
      '',
      'Inline `<img src=x onerror=window.__pwned=14>` code.',
      '',
      '```js" onmouseover="window.__pwned=15',
      'alert(1)',
      '```',
      '',
      '    <a href="javascript:window.__pwned=15">indented</a>',
    ].join('\n'),
    visible: ['Code follows.', 'Inline', 'code.'],
    code: ['<img src=x onerror="window.__pwned=12">', '<button onclick="window.__pwned=13">b</button>', '<img src=x onerror=window.__pwned=14>', 'alert(1)', '<a href="javascript:window.__pwned=15">indented</a>'],
  },
  {
    id: 'embeds',
    md: '<object data="javascript:window.__pwned=14"></object><embed src="javascript:window.__pwned=14">\n\n<base href="javascript:/"><meta http-equiv="refresh" content="0;url=javascript:window.__pwned=14"> embedded.',
    visible: ['embedded.'],
  },
  {
    id: 'attribute-injection',
    md: [
      '[safe-docs](https://example.com/docs "x\\" onmouseover=\\"window.__pwned=16")',
      '',
      '[<img src=x onerror=window.__pwned=17>](https://example.com/b)',
      '',
      '# Heading <img src=x onerror=window.__pwned=18>',
      '',
      '| col <b onmouseover=window.__pwned=18>a</b> | b |',
      '|---|:-:|',
      '| <img src=x onerror=window.__pwned=18> | cell-b |',
      '',
      '<a href="javascript:window.__pwned=21" onmouseover="window.__pwned=21">raw-a</a> <x onclick=window.__pwned=20>custom</x> <vscode-button onclick="window.__pwned=20">vb</vscode-button>',
    ].join('\n'),
    visible: ['safe-docs', 'Heading', 'cell-b'],
  },
  {
    // After an inline <pre>, <code>, <kbd> or <script> tag marked stops escaping the following text ("raw
    // block"): markup that is not a CommonMark tag, such as <x/onerror=…>, then reached the HTML parser.
    id: 'raw-block',
    md: 'Text <pre> then <x/onerror=window.__pwned=23> and <kbd> <x:y onmouseover=window.__pwned=23>hi\n\nA <script> *em* <a/href="https://example.com/x">sneaky</a>',
    visible: ['<x/onerror=window.__pwned=23>', '<x:y onmouseover=window.__pwned=23>', '<a/href="https://example.com/x">sneaky'],
  },
  {
    id: 'comments-cdata',
    md: '<!-- <img src=x onerror=window.__pwned=19> -->\n\n<![CDATA[><img src=x onerror=window.__pwned=19>]]>\n\n<?xml version="1.0"?><img src=x onerror=window.__pwned=19> pi.\n\nUnclosed <img src=x onerror=window.__pwned=22',
    visible: ['pi.', 'Unclosed'],
  },
];

/** Each payload between harmless sentences that must survive. */
function turnText(p: Payload): string {
  return `Safe ${p.id} intro.\n\n${p.md}\n\nSafe ${p.id} outro.`;
}
function expectedVisible(p: Payload): string[] {
  return [`Safe ${p.id} intro.`, `Safe ${p.id} outro.`, ...p.visible];
}

/** Splits `text` into chunks of 1..13 characters (deterministic), so tags and attributes break mid-way. */
function chunksOf(text: string): string[] {
  const sizes = [1, 4, 2, 7, 3, 11, 5, 9, 6, 13, 8];
  const out: string[] = [];
  for (let i = 0, k = 0; i < text.length; k++) {
    const n = sizes[k % sizes.length];
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

// ---- page side (plain JavaScript: added with addInitScript, so it runs before any page script) ----

const PAGE_PROBE = String.raw`(() => {
  const csp = [];
  window.addEventListener('securitypolicyviolation', (e) => {
    csp.push({ directive: e.effectiveDirective || e.violatedDirective, blockedURI: e.blockedURI, sample: e.sample, source: e.sourceFile, line: e.lineNumber, column: e.columnNumber });
  }, true);
  let pwned;
  const pwnedLog = [];
  Object.defineProperty(window, '__pwned', { configurable: false, get() { return pwned; }, set(v) { pwned = v; pwnedLog.push(String(v)); } });

  const FORBIDDEN = 'script, iframe, frame, frameset, object, embed, applet, form, style, link, meta, base, svg, math, template, img, picture, video, audio, source, track, input, button, textarea, select, option, noscript, portal, dialog, canvas, marquee';
  const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'srcdoc', 'ping', 'cite', 'longdesc', 'codebase', 'manifest', 'dynsrc', 'lowsrc', 'srcset']);
  // URL parsers drop leading C0 controls and spaces and every tab / newline: "java\tscript:" is "javascript:".
  const norm = (v) => v.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
  const BAD_URL = /^(javascript|vbscript|livescript|command|data):/;
  const show = (el) => '<' + el.localName + Array.from(el.attributes, (a) => ' ' + a.name + '="' + a.value.slice(0, 80) + '"').join('') + '>';

  /** Everything in 'scope' that should not be there; [] when clean. */
  function probe(scope) {
    const problems = [];
    for (const el of scope.querySelectorAll(FORBIDDEN)) problems.push('forbidden element ' + show(el));
    for (const el of [scope, ...scope.querySelectorAll('*')]) {
      for (const a of Array.from(el.attributes)) {
        const name = a.name.toLowerCase();
        if (name.startsWith('on')) problems.push('event-handler attribute ' + name + ' on ' + show(el));
        if (URL_ATTRS.has(name) && BAD_URL.test(norm(a.value))) problems.push('dangerous URL in ' + name + ' on ' + show(el));
      }
    }
    // Inside rendered markdown (not the app's own Copy / Insert bar): HTML elements only, no styles, no
    // DOM-clobbering names, links only to http(s) / mailto / #fragment, each with rel=noopener.
    const mds = scope.matches('.md') ? [scope] : Array.from(scope.querySelectorAll('.md'));
    for (const md of mds) {
      for (const el of md.querySelectorAll('*')) {
        if (el.closest('.code-actions')) continue;
        if (el.namespaceURI !== 'http://www.w3.org/1999/xhtml') problems.push('foreign-namespace element ' + show(el));
        if (el.localName.includes('-')) problems.push('custom element from model output ' + show(el));
        for (const name of ['style', 'id', 'name', 'target', 'form', 'srcdoc']) if (el.hasAttribute(name)) problems.push(name + ' attribute on ' + show(el));
        if (el.localName === 'a' && el.hasAttribute('href')) {
          if (!['http:', 'https:', 'mailto:'].includes(el.protocol)) problems.push('link with scheme ' + el.protocol + ' ' + show(el));
          if (!/\bnoopener\b/.test(el.getAttribute('rel') || '')) problems.push('link without rel=noopener ' + show(el));
        }
      }
    }
    return problems;
  }

  const send = (data) => window.dispatchEvent(new MessageEvent('message', { data }));
  const yieldTask = () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });

  /** Streams 'chunks' into a new assistant turn, probing the turn after every rendered frame. */
  async function stream(turnId, chunks) {
    const app = window.__moeLens;
    const problems = [];
    send({ type: 'chat.turnAdded', turn: { id: turnId, role: 'assistant', display: '', content: '', status: 'streaming', routing: [] } });
    app.flush();
    let text = '';
    for (let i = 0; i < chunks.length; i++) {
      text += chunks[i];
      send({ type: 'chat.frames', turnId, textDelta: chunks[i], routing: [] });
      app.flush();
      const el = document.querySelector('[data-turn-id="' + turnId + '"]');
      if (!el) { problems.push('frame ' + i + ': the streaming turn is not in the DOM'); break; }
      if (!el.querySelector('.md')) problems.push('frame ' + i + ': the streaming turn has no rendered markdown');
      for (const p of probe(el)) problems.push('frame ' + i + ' (text ends ' + JSON.stringify(text.slice(-30)) + '): ' + p);
      if (pwnedLog.length) problems.push('frame ' + i + ': window.__pwned set to ' + pwnedLog.join(', '));
      if (problems.length > 40) break;
      await yieldTask(); // let anything that slipped through (load / error events) fire
    }
    send({ type: 'chat.turnUpdated', turn: { id: turnId, role: 'assistant', display: text, content: text, status: 'complete' } });
    app.flush();
    return problems;
  }

  window.__sanitizeProbe = { probe: (selector) => probe(document.querySelector(selector)), stream, csp, pwnedLog, send };
})();`;

const FAKE_VSCODE_API = `
window.__posted = [];
let state;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => state,
  setState: (s) => { state = s; },
});
`;

type PageProbe = {
  probe(selector: string): string[];
  stream(turnId: string, chunks: string[]): Promise<string[]>;
  csp: { directive: string; blockedURI: string; sample: string; source: string; line: number; column: number }[];
  pwnedLog: string[];
  send(data: HostToWebview): void;
};
type PageGlobals = { __sanitizeProbe: PageProbe; __posted: { type: string }[]; __pwned?: unknown; __moeLens: { flush(): void } };

// ---- server and browser ----

let server: Server;
let origin = '';
let browser: Browser;
const serverLog: string[] = [];

function bundleProblem(): string | undefined {
  if (!existsSync(BUNDLE) || !existsSync(STYLE)) {
    return `${WEBVIEW_ASSETS.script} is missing: build the webview first (\`npm run build:ts\`; \`npm test\` builds it before running the tests).`;
  }
  // A bundle older than the webview sources would test yesterday's sanitizer.
  const built = statSync(BUNDLE).mtimeMs;
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|css)$/.test(e.name) && statSync(p).mtimeMs > built + 1000) stale.push(p.slice(ROOT.length + 1));
    }
  };
  walk(join(ROOT, 'webview'));
  if (stale.length) return `${WEBVIEW_ASSETS.script} is older than ${stale.slice(0, 3).join(', ')}: rebuild it (\`npm run build:ts\`).`;
  return undefined;
}

beforeAll(async () => {
  const problem = bundleProblem();
  if (problem) throw new Error(problem);
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM).`);

  const nonce = makeNonce();
  const files: Record<string, { type: string; body: () => Buffer | string }> = {
    '/fake-vscode-api.js': { type: 'text/javascript', body: () => FAKE_VSCODE_API },
    [`/${WEBVIEW_ASSETS.script}`]: { type: 'text/javascript', body: () => readFileSync(BUNDLE) },
    [`/${WEBVIEW_ASSETS.style}`]: { type: 'text/css', body: () => readFileSync(STYLE) },
  };
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/' || path === '/index.html') {
      // The chat view's page (extension/vscode/chat-view.ts), with this origin standing in for webview.cspSource.
      const html = buildPage({
        cspSource: origin,
        nonce,
        title: 'MoE Lens',
        scripts: [`${origin}/fake-vscode-api.js`, `${origin}/${WEBVIEW_ASSETS.script}`],
        styles: [`${origin}/${WEBVIEW_ASSETS.style}`],
        body: '<div id="root"></div>',
      });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      return;
    }
    const file = files[path];
    if (file) {
      res.writeHead(200, { 'content-type': file.type }).end(file.body());
      return;
    }
    // (Chromium asks for a favicon and, with devtools, source maps by itself.)
    if (path !== '/favicon.ico' && !path.endsWith('.map')) serverLog.push(path);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
});

interface Session {
  page: Page;
  /** Console messages about the CSP, page errors, dialogs, navigations, requests outside the page's own files. */
  console: string[];
  errors: string[];
  dialogs: string[];
  navigations: string[];
  requests: string[];
}

async function openWebview(): Promise<Session> {
  const page = await browser.newPage({ viewport: { width: 900, height: 1600 } });
  const s: Session = { page, console: [], errors: [], dialogs: [], navigations: [], requests: [] };
  serverLog.length = 0;
  page.on('console', (m) => {
    if (/content.security.policy|refused to/i.test(m.text())) s.console.push(m.text());
  });
  page.on('pageerror', (e) => s.errors.push(e.message));
  page.on('dialog', (d) => {
    s.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    const known = ['/', '/fake-vscode-api.js', `/${WEBVIEW_ASSETS.script}`, `/${WEBVIEW_ASSETS.style}`];
    if (!r.url().startsWith(origin) || !known.includes(new URL(r.url()).pathname)) {
      if (new URL(r.url()).pathname !== '/favicon.ico') s.requests.push(r.url().slice(0, 200));
    }
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame() && f.url() !== `${origin}/`) s.navigations.push(f.url());
  });
  await page.addInitScript(PAGE_PROBE);
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (window as unknown as PageGlobals).__posted?.some((m) => m.type === 'ready'), undefined, { timeout: 15_000 });
  return s;
}

async function send(page: Page, message: HostToWebview): Promise<void> {
  await page.evaluate((m) => {
    const w = window as unknown as PageGlobals;
    w.__sanitizeProbe.send(m);
    w.__moeLens.flush();
  }, message);
}

const turnSel = (id: string) => `[data-turn-id="${id}"]`;

/** Brings a turn into view and waits until the windowing has rendered its markdown. */
async function showTurn(page: Page, id: string): Promise<void> {
  await page.evaluate((sel) => document.querySelector(sel)?.scrollIntoView({ block: 'center' }), turnSel(id));
  await page
    .waitForFunction(
      (sel) => {
        (window as unknown as PageGlobals).__moeLens.flush();
        const el = document.querySelector(sel);
        return !!el && !el.classList.contains('parked') && !!el.querySelector('.turn-body .md');
      },
      turnSel(id),
      { timeout: 10_000, polling: 50 },
    )
    .catch(() => {
      throw new Error(`turn ${id} was not rendered`);
    });
}

/** Clicks every link and button rendered from model output in a turn, then hovers every element of its body. */
async function clickAndHover(page: Page, id: string): Promise<{ clicked: number; hovered: number }> {
  const body = page.locator(`${turnSel(id)} .turn-body`);
  const targets = body.locator('a, button, vscode-button, summary, [role="button"], input, label, area, details');
  let clicked = 0;
  for (let i = 0, n = await targets.count(); i < n; i++) {
    const t = targets.nth(i);
    // Links that passed the sanitizer's http(s)/mailto allowlist would navigate this page away (no network
    // here): those are checked by their scheme instead.
    const href = (await t.getAttribute('href'))?.trim();
    if (href && /^(https?:|mailto:)/i.test(href)) continue;
    await t.click({ force: true, timeout: 5_000 });
    clicked++;
  }
  await page.evaluate((sel) => document.querySelector(sel)?.scrollIntoView({ block: 'start' }), turnSel(id));
  const points = await page.evaluate((sel) => {
    const out: { x: number; y: number }[] = [];
    for (const el of Array.from(document.querySelectorAll(`${sel} .turn-body *`))) {
      const r = el.getBoundingClientRect();
      const x = r.left + Math.min(r.width / 2, 4);
      const y = r.top + r.height / 2;
      if (r.width > 0 && r.height > 0 && y >= 0 && y < window.innerHeight && x >= 0 && x < window.innerWidth) out.push({ x, y });
    }
    return out;
  }, turnSel(id));
  for (const p of points) await page.mouse.move(p.x, p.y);
  await page.mouse.move(0, 0);
  return { clicked, hovered: points.length };
}

/** Everything the page recorded: no payload ran, tried to run, navigated, loaded anything or broke the app. */
async function expectNothingRan(s: Session): Promise<void> {
  // Give late events (image errors, toggle events, timers) a moment to fire.
  await s.page.waitForTimeout(300);
  const state = await s.page.evaluate(() => {
    const w = window as unknown as PageGlobals;
    return {
      pwned: w.__pwned === undefined ? 'undefined' : String(w.__pwned),
      pwnedLog: w.__sanitizeProbe.pwnedLog.slice(),
      csp: w.__sanitizeProbe.csp.map((v) => `${v.directive} blocked ${v.blockedURI || '(inline)'} at ${v.source}:${v.line}:${v.column}`),
      transcript: w.__sanitizeProbe.probe('[data-testid="transcript"]'),
      posted: w.__posted.map((m) => (m.type === 'webview.error' ? `webview.error: ${(m as unknown as { message: string }).message}` : m.type)),
      url: location.href,
    };
  });
  expect(state.pwned, 'window.__pwned').toBe('undefined');
  expect(state.pwnedLog, 'assignments to window.__pwned').toEqual([]);
  // Chromium reports inline handlers, styles and javascript: URLs that the CSP blocked, also where they are only
  // parsed (DOMPurify's DOMParser document): either way model markup got further than it may.
  expect(state.csp, 'securitypolicyviolation events (model markup reached a parser or the DOM, or a javascript: URL was followed)').toEqual([]);
  expect(s.console, 'CSP messages on the console').toEqual([]);
  expect(state.transcript, 'problems in the whole transcript').toEqual([]);
  expect(s.dialogs, 'dialogs').toEqual([]);
  expect(s.navigations, 'navigations').toEqual([]);
  expect(state.url).toBe(`${origin}/`);
  expect(s.requests, 'requests beyond the page and its bundle').toEqual([]);
  expect(serverLog, 'requests the server did not expect').toEqual([]);
  expect(s.errors, 'page errors').toEqual([]);
  expect(state.posted.filter((t) => !['ready', 'chat.copy', 'chat.insertCode'].includes(t)), 'unexpected messages to the host').toEqual([]);
}

async function checkTurn(page: Page, p: Payload, id: string): Promise<void> {
  await showTurn(page, id);
  const problems = await page.evaluate((sel) => (window as unknown as PageGlobals).__sanitizeProbe.probe(sel), turnSel(id));
  expect(problems, `payload "${p.id}"`).toEqual([]);
  const text = await page.locator(`${turnSel(id)} .turn-body`).innerText();
  for (const v of expectedVisible(p)) expect(text, `payload "${p.id}": visible text`).toContain(v);
  if (p.code) {
    const codes = await page.locator(`${turnSel(id)} .turn-body code`).allTextContents();
    for (const c of p.code) expect(codes.some((t) => t.includes(c)), `payload "${p.id}": ${c} shown as code`).toBe(true);
  }
  const { clicked, hovered } = await clickAndHover(page, id);
  expect(hovered, `payload "${p.id}": elements hovered`).toBeGreaterThan(0);
  if (process.env.SANITIZE_TEST_VERBOSE) console.log(`${p.id}: clicked ${clicked}, hovered ${hovered}`);
}

describe('hostile model output in the real webview (Chromium, extension CSP)', { timeout: 90_000 }, () => {
  it('complete turns: nothing runs, nothing dangerous reaches the DOM, harmless text stays', async () => {
    const s = await openWebview();
    try {
      const turns: ChatTurn[] = [turn('u0', 'user', 'Show me <img src=x onerror="window.__pwned=100"> and [u](javascript:window.__pwned=101)')];
      for (const p of PAYLOADS) turns.push(turn(`a-${p.id}`, 'assistant', turnText(p)));
      await send(s.page, { type: 'snapshot', snapshot: snapshot(turns, modelSummary()) });

      await showTurn(s.page, 'u0');
      expect(await s.page.evaluate((sel) => (window as unknown as PageGlobals).__sanitizeProbe.probe(sel), turnSel('u0')), 'user turn').toEqual([]);
      await clickAndHover(s.page, 'u0');
      for (const p of PAYLOADS) await checkTurn(s.page, p, `a-${p.id}`);

      // The harmless parts are shown as they should be.
      const safe = s.page.locator(`${turnSel('a-attribute-injection')} a`, { hasText: 'safe-docs' });
      expect(await safe.getAttribute('href')).toBe('https://example.com/docs');
      expect(await safe.getAttribute('rel')).toContain('noopener');
      await expect.poll(() => s.page.locator(`${turnSel('a-javascript-links')} a`, { hasText: 'click' }).count()).toBeGreaterThan(0);
      expect(await s.page.locator(`${turnSel('a-javascript-links')} a[href]`).count(), 'javascript: links keep no href').toBe(0);
      expect(await s.page.locator(`${turnSel('a-command-links')} a[href]`).count(), 'command: links keep no href').toBe(0);

      await expectNothingRan(s);
    } finally {
      await s.page.close();
    }
  });

  it('streamed turn: the same payloads in chat.frames chunks split mid-tag', async () => {
    const s = await openWebview();
    try {
      await send(s.page, { type: 'snapshot', snapshot: snapshot([turn('u0', 'user', 'Go.')], modelSummary({ state: 'generating' })) });
      const all = PAYLOADS.map(turnText).join('\n\n');
      const chunks = chunksOf(all);
      expect(chunks.length).toBeGreaterThan(500);
      const problems = await s.page.evaluate(([id, c]) => (window as unknown as PageGlobals).__sanitizeProbe.stream(id, c), ['a-stream', chunks] as const);
      expect(problems, 'problems while streaming').toEqual([]);

      await showTurn(s.page, 'a-stream');
      expect(await s.page.evaluate((sel) => (window as unknown as PageGlobals).__sanitizeProbe.probe(sel), turnSel('a-stream')), 'final streamed turn').toEqual([]);
      const text = await s.page.locator(`${turnSel('a-stream')} .turn-body`).innerText();
      for (const p of PAYLOADS) for (const v of expectedVisible(p)) expect(text, `streamed "${p.id}": visible text`).toContain(v);
      await clickAndHover(s.page, 'a-stream');
      await expectNothingRan(s);
    } finally {
      await s.page.close();
    }
  });
});
