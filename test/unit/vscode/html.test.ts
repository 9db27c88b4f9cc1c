import { describe, expect, it } from 'vitest';
import { buildPage, contentSecurityPolicy, escapeHtml, makeNonce } from '../../../extension/vscode/html';
import { modelInfoBody, modelInfoPage } from '../../../extension/vscode/model-info-html';
import { FakeEngine, fakeInfo } from '../chat/fake-engine';

const CSP_SOURCE = 'https://*.vscode-cdn.net';

describe('webview html', () => {
  it('nonces are fresh and attribute-safe', () => {
    const a = makeNonce();
    const b = makeNonce();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9]{16,}$/);
  });

  it('CSP is strict: default none, scripts only by nonce, no unsafe-*', () => {
    const csp = contentSecurityPolicy(CSP_SOURCE, 'N0NCE');
    expect(csp).toBe(`default-src 'none'; img-src ${CSP_SOURCE} data:; style-src ${CSP_SOURCE} 'nonce-N0NCE'; font-src ${CSP_SOURCE}; script-src 'nonce-N0NCE';`);
    expect(csp).not.toMatch(/unsafe/);
  });

  it('every script carries the nonce and none is inline', () => {
    const html = buildPage({ cspSource: CSP_SOURCE, nonce: 'abc123', title: 'T', scripts: ['https://x/webview.js'], styles: ['https://x/webview.css'], body: '<div id="root"></div>' });
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(1);
    for (const [, attrs, content] of scripts) {
      expect(attrs).toContain('nonce="abc123"');
      expect(attrs).toMatch(/src="https:\/\/x\/webview.js"/);
      expect(content.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son\w+=/i); // no inline event handlers
    expect(html).toContain(`content="default-src 'none';`.replace(/'/g, '&#39;'));
    expect(html).toContain('<link rel="stylesheet" href="https://x/webview.css">');
  });

  it('escapes text', () => {
    expect(escapeHtml(`<img src=x onerror="a">&'`)).toBe('&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
  });
});

describe('model panel html', () => {
  it('shows the facts and placement, escaped, with no script', () => {
    const info = fakeInfo('/models/<evil>.gguf');
    info.name = '<script>alert(1)</script>';
    info.placement!.notes = ['experts <in> RAM'];
    const page = modelInfoPage({ info, isDemo: true, source: 'loaded' }, CSP_SOURCE, 'n1');
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('/models/&lt;evil&gt;.gguf');
    expect(page).not.toMatch(/<script/);
    expect(page).toContain('<style nonce="n1">');
    const body = modelInfoBody({ info, isDemo: true, source: 'loaded' });
    for (const s of ['Experts per token', 'Active parameters per token', 'Where the tensors live', 'Memory per device', 'CPU', 'it continues your text', 'experts &lt;in&gt; RAM']) expect(body).toContain(s);
  });

  it('has a top-k control for a MoE model: the model\'s own or 1..experts, the setting selected; its only script is the nonce\'d file', () => {
    const info = { ...fakeInfo('/m.gguf'), routing: { moeLayers: [0, 1], experts: 4, expertsPerToken: 1, modelExpertsPerToken: 2, sharedExperts: 0 } };
    const body = modelInfoBody({ info, isDemo: false, source: 'loaded', expertsPerTokenSetting: 1 });
    const options = [...body.matchAll(/<option value="(\d+)"( selected)?>([^<]*)<\/option>/g)].map((m) => `${m[1]}${m[2] ? '*' : ''}:${m[3]}`);
    expect(options).toEqual(["0:the model's own (2)", '1*:1', '2:2', '3:3', '4:4']);
    expect(body).toContain('data-testid="top-k"');
    const page = modelInfoPage({ info, isDemo: false, source: 'loaded' }, CSP_SOURCE, 'n1', ['https://x/media/model-panel.js']);
    expect(page.match(/<script[^>]*>/g)).toEqual(['<script type="module" nonce="n1" src="https://x/media/model-panel.js">']);
    expect(modelInfoBody({ info: { ...info, routing: undefined }, isDemo: false, source: 'loaded' })).not.toContain('<select');
  });

  it('a server model: the server, its capabilities and why there is no routing; no placement, no unknown figures', () => {
    const info = new FakeEngine({ capabilities: { routingIds: false, gateWeights: false, placement: false, routingAbsent: 'server-flag-off' } }).info({ backend: 'remote', endpoint: 'http://10.0.0.5:8000', model: '<m>' });
    delete info.placement;
    delete info.totalParams;
    delete info.fileBytes;
    const body = modelInfoBody({ info, isDemo: false, source: 'loaded' });
    for (const s of ['Server', 'http://10.0.0.5:8000', '&lt;m&gt;', 'Capabilities', 'no routing', '--enable-return-routed-experts', 'applied by the server']) expect(body).toContain(s);
    for (const s of ['Where the tensors live', 'Total parameters', 'File']) expect(body).not.toContain(s);
  });

  it('shows an error without info', () => {
    expect(modelInfoBody({ isDemo: false, source: 'planned', error: 'x.gguf is <bad>' })).toContain('x.gguf is &lt;bad&gt;');
  });
});
