// The one webview host base (extension/vscode/webview-host.ts) against a plain fake webview: nothing is posted before
// the page says `ready`, what is kept meanwhile is bounded and comes after the page's start-up messages, requests
// are answered with their id (only to the page that asked), bad messages are ignored, and dispose lets go.
import { describe, expect, it } from 'vitest';
import { PanelHost, WebviewHost, type WebviewPort } from '../../../extension/vscode/webview-host';

interface TestProtocol {
  toHost: { type: 'click'; n: number };
  toView: { type: 'news'; n: number } | { type: 'start' };
  request: { q: number };
  response: { a: number };
}

function fakeWebview() {
  let listener: ((m: unknown) => void) | undefined;
  const posted: unknown[] = [];
  const webview = {
    posted,
    get listening() {
      return !!listener;
    },
    receive: (m: unknown) => listener?.(m),
    postMessage: async (m: unknown) => (posted.push(m), true),
    onDidReceiveMessage: (fn: (m: unknown) => void) => ((listener = fn), { dispose: () => (listener = undefined) }),
  };
  return webview as typeof webview & WebviewPort;
}

/** Lets the host's pending answers (promises) settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the webview host base', () => {
  it('posts nothing before `ready`, then the start-up messages and the kept ones in order, the oldest dropped past the bound', () => {
    const page = fakeWebview();
    const host: WebviewHost<TestProtocol> = new WebviewHost<TestProtocol>({ queueLimit: 3, onReady: () => host.post({ type: 'start' }) });
    host.post({ type: 'news', n: 0 }); // no webview yet: dropped
    host.attach(page);
    for (let n = 1; n <= 5; n++) host.post({ type: 'news', n });
    expect(page.posted).toEqual([]);
    expect(host.isReady).toBe(false);
    page.receive({ type: 'ready' });
    expect(host.isReady).toBe(true);
    expect(page.posted).toEqual([{ type: 'start' }, { type: 'news', n: 3 }, { type: 'news', n: 4 }, { type: 'news', n: 5 }]);
    host.post({ type: 'news', n: 6 });
    expect(page.posted.at(-1)).toEqual({ type: 'news', n: 6 });
  });

  it('keeps only what keepUntilReady says while a reloaded page starts', () => {
    const page = fakeWebview();
    const host = new WebviewHost<TestProtocol>({ keepUntilReady: (m) => m.type === 'start' });
    host.attach(page);
    page.receive({ type: 'ready' });
    host.reload(); // hidden: the page is gone until it says ready again
    host.post({ type: 'news', n: 1 });
    host.post({ type: 'start' });
    expect(page.posted).toEqual([]);
    page.receive({ type: 'ready' });
    expect(page.posted).toEqual([{ type: 'start' }]);
  });

  it('answers a request with its id: the response, none, or the error; a reloaded page gets no stale answer', async () => {
    const page = fakeWebview();
    const log: string[] = [];
    let release: () => void = () => {};
    const host = new WebviewHost<TestProtocol>({
      onRequest: async ({ q }) => {
        if (q < 0) throw new Error('negative');
        if (q === 0) return undefined;
        if (q === 99) await new Promise<void>((resolve) => (release = resolve));
        return { a: q * 2 };
      },
      log: (level, message) => log.push(`${level}: ${message.split('\n')[0]}`),
    });
    host.attach(page);
    page.receive({ type: 'ready' });
    page.receive({ type: 'request', id: 7, request: { q: 21 } });
    page.receive({ type: 'request', id: 8, request: { q: 0 } });
    page.receive({ type: 'request', id: 9, request: { q: -1 } });
    page.receive({ type: 'request', id: 'x', request: { q: 1 } }); // not an id: ignored
    await settle();
    expect(page.posted).toEqual([
      { type: 'response', id: 7, response: { a: 42 } },
      { type: 'response', id: 8 },
      { type: 'response', id: 9, error: 'negative' },
    ]);
    expect(log).toEqual(['error: A webview request failed: Error: negative']);
    // Asked by a page that reloaded before the answer came: the new page does not get it.
    page.receive({ type: 'request', id: 10, request: { q: 99 } });
    host.reload();
    page.receive({ type: 'ready' });
    release();
    await settle();
    expect(page.posted).toHaveLength(3);
  });

  it('passes notifications to the handler, ignores what is not a message and survives a throwing handler', () => {
    const page = fakeWebview();
    const got: unknown[] = [];
    const log: string[] = [];
    const host = new WebviewHost<TestProtocol>({
      onMessage: (m) => {
        if (m.n < 0) throw new Error('boom');
        got.push(m);
      },
      log: (level, message) => log.push(`${level}: ${message.split('\n')[0]}`),
    });
    host.attach(page);
    for (const bad of [null, 'ready', 42, {}, { type: 3 }]) page.receive(bad);
    page.receive({ type: 'click', n: 1 });
    page.receive({ type: 'click', n: -1 });
    expect(got).toEqual([{ type: 'click', n: 1 }]);
    expect(log).toEqual(['error: Handling click failed: Error: boom']);
    expect(host.isReady).toBe(false);
  });

  it('dispose stops listening and posting, and drops what was kept', () => {
    const page = fakeWebview();
    const host = new WebviewHost<TestProtocol>();
    host.attach(page);
    host.post({ type: 'news', n: 1 });
    host.dispose();
    expect(page.listening).toBe(false);
    host.post({ type: 'news', n: 2 });
    page.receive({ type: 'ready' });
    expect(page.posted).toEqual([]);
    // A new page starts clean: what the old one was kept is gone.
    const next = fakeWebview();
    host.attach(next);
    next.receive({ type: 'ready' });
    expect(next.posted).toEqual([]);
  });

  it('PanelHost: one panel, revealed when open, a new one after it is closed; a hidden panel waits for ready', () => {
    const made: { webview: ReturnType<typeof fakeWebview>; visible: boolean; reveals: number; disposed: boolean; close(): void; viewState(): void }[] = [];
    const create = () => {
      let onDispose = () => {};
      let onViewState = () => {};
      const panel = {
        webview: fakeWebview(),
        visible: true,
        reveals: 0,
        disposed: false,
        close: () => onDispose(),
        viewState: () => onViewState(),
        reveal: () => void panel.reveals++,
        onDidDispose: (fn: () => void) => ((onDispose = fn), { dispose() {} }),
        onDidChangeViewState: (fn: () => void) => ((onViewState = fn), { dispose() {} }),
        dispose: () => ((panel.disposed = true), onDispose()),
      };
      made.push(panel);
      return panel as never;
    };
    const host = new PanelHost<TestProtocol>(create);
    expect(host.open().created).toBe(true);
    expect(host.open().created).toBe(false);
    expect(made).toHaveLength(1);
    expect(made[0].reveals).toBe(1);
    const first = made[0];
    first.webview.receive({ type: 'ready' });
    first.visible = false;
    first.viewState();
    host.post({ type: 'news', n: 1 });
    expect(first.webview.posted).toEqual([]);
    first.visible = true;
    first.viewState();
    first.webview.receive({ type: 'ready' });
    expect(first.webview.posted).toEqual([{ type: 'news', n: 1 }]);
    first.close();
    expect(host.panel).toBeUndefined();
    host.post({ type: 'news', n: 2 }); // closed: dropped
    expect(host.open().created).toBe(true);
    made[1].webview.receive({ type: 'ready' });
    expect(made[1].webview.posted).toEqual([]);
    host.dispose();
    expect(made[1].disposed).toBe(true);
    expect(host.panel).toBeUndefined();
  });
});
