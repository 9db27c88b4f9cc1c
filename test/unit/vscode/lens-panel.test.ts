// The lens's editor tab against a fake of VS Code's webview panel: one tab (opened again = revealed and moved to the
// message), the bundle under the strict CSP in lens mode, nothing posted before the page is ready, then the
// conversation, the message it follows and the what-if comparisons that still apply; it follows the sidebar only
// while open.
import { describe, expect, it, vi } from 'vitest';
import type { BundleProtocol, HostToWebview, ToHost, WebviewToHost, WhatIfState } from '../../../extension/protocol';

interface FakePanel {
  html: string;
  posted: HostToWebview[];
  reveals: number;
  receive(message: ToHost<BundleProtocol>): void;
  /** The tab goes behind another (its page is unloaded) or comes back (and reloads). */
  setVisible(visible: boolean): void;
  close(): void;
}
const panels: FakePanel[] = [];
vi.mock('vscode', () => ({
  Uri: { joinPath: (base: { path: string }, ...parts: string[]) => ({ path: [base.path, ...parts].join('/') }) },
  ViewColumn: { Active: -1 },
  window: {
    createWebviewPanel: () => {
      let onMessage: (m: unknown) => void = () => {};
      let onDispose: () => void = () => {};
      let onViewState: () => void = () => {};
      const panel = { visible: true };
      const fake: FakePanel = {
        html: '',
        posted: [],
        reveals: 0,
        receive: (m) => onMessage(m),
        setVisible: (visible) => ((panel.visible = visible), onViewState()),
        close: () => onDispose(),
      };
      panels.push(fake);
      const webview = {
        cspSource: 'https://csp',
        options: {},
        asWebviewUri: (u: { path: string }) => ({ toString: () => `https://csp${u.path}` }),
        onDidReceiveMessage: (fn: (m: unknown) => void) => ((onMessage = fn), { dispose() {} }),
        postMessage: async (m: HostToWebview) => (fake.posted.push(m), true),
        set html(value: string) {
          fake.html = value;
        },
      };
      return Object.assign(panel, {
        webview,
        onDidDispose: (fn: () => void) => ((onDispose = fn), { dispose() {} }),
        onDidChangeViewState: (fn: () => void) => ((onViewState = fn), { dispose() {} }),
        reveal: () => void fake.reveals++,
        dispose() {},
      });
    },
  },
}));

const { LensEditorPanel } = await import('../../../extension/vscode/lens-panel');

const whatIf = (turnId: string): WhatIfState => ({ id: `w-${turnId}`, turnId, action: 'force', layer: 0, expert: 1, label: 'with only expert 1 in layer 0', status: 'running', original: { text: 'x', tokens: [], ids: [], routing: [] } });
const snapshot = (ids: string[]): HostToWebview => ({
  type: 'snapshot',
  snapshot: { protocolVersion: 1, turns: ids.map((id) => ({ id, role: 'assistant', display: id, content: id, status: 'complete', routing: [] })), model: { label: 'demo', isDemo: true, state: 'ready', captureRouting: true }, moeLayers: [] },
});

describe('the lens editor tab', () => {
  it('opens once in lens mode, starts with the conversation, its message and the comparisons that still apply', () => {
    const fromTab: WebviewToHost[] = [];
    const tab = new LensEditorPanel({ path: '/ext' } as never, (m) => fromTab.push(m), () => snapshot(['a1', 'a2']));
    tab.follow('a1'); // closed: nothing to follow
    tab.post(snapshot(['a1']));
    expect(panels).toHaveLength(0);
    // Comparisons are kept while the tab is closed; a replaced answer's goes.
    tab.post({ type: 'lens.whatIf', whatIf: whatIf('a1') });
    tab.post({ type: 'lens.whatIf', whatIf: whatIf('a2') });
    tab.post({ type: 'chat.turnAdded', turn: { id: 'a2', role: 'assistant', display: 'kept', content: 'kept', status: 'complete', routing: [] } });

    tab.show('a1');
    expect(panels).toHaveLength(1);
    const page = panels[0];
    expect(page.html).toContain('<div id="root" data-mode="lens"></div>');
    const nonce = /<script type="module" nonce="([A-Za-z0-9]+)"/.exec(page.html)?.[1];
    expect(nonce).toMatch(/^[A-Za-z0-9]{16,}$/);
    expect(page.html).toContain(`script-src &#39;nonce-${nonce}&#39;`);
    tab.post({ type: 'chat.frames', turnId: 'a1', textDelta: 'x', routing: [] }); // not ready yet: dropped
    expect(page.posted).toEqual([]);
    page.receive({ type: 'ready' });
    expect(page.posted.map((m) => m.type)).toEqual(['snapshot', 'lens.show', 'lens.whatIf']);
    expect(page.posted[1]).toEqual({ type: 'lens.show', turnId: 'a1' });
    expect((page.posted[2] as { whatIf: WhatIfState }).whatIf.turnId).toBe('a1');

    // Open again: the same tab, revealed and moved; the sidebar's lens moves it too (once per message).
    tab.show('a2');
    expect(panels).toHaveLength(1);
    expect(page.reveals).toBe(1);
    tab.follow('a1');
    tab.follow('a1');
    expect(page.posted.slice(3)).toEqual([
      { type: 'lens.show', turnId: 'a2' },
      { type: 'lens.show', turnId: 'a1' },
    ]);
    // Its other messages go to the host's handler.
    page.receive({ type: 'lens.keepWhatIf', whatIfId: 'w-a1' });
    expect(fromTab).toEqual([{ type: 'lens.keepWhatIf', whatIfId: 'w-a1' }]);
    // Behind another tab its page is unloaded: nothing is posted until it is back and ready, then it starts over.
    page.setVisible(false);
    tab.follow('a2');
    expect(page.posted).toHaveLength(5);
    page.setVisible(true);
    page.receive({ type: 'ready' });
    expect(page.posted.slice(5).map((m) => m.type)).toEqual(['snapshot', 'lens.show', 'lens.whatIf']);
    expect(page.posted[6]).toEqual({ type: 'lens.show', turnId: 'a2' });
    // Closed: a later show opens a new tab.
    page.close();
    tab.show(undefined);
    expect(panels).toHaveLength(2);
  });
});
