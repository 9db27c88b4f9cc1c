// The model panel knows when the chat's model is loaded: a panel opened before the load (or whose plan arrives after
// it) shows "As loaded by the engine" once it is. And one name per model: the chat's label is the model's own
// (GGUF general.name, else its file name), the demo's before it loads too. ModelPanel against a fake of VS Code's
// webview panel.
import { describe, expect, it, vi } from 'vitest';
import { ModelSession } from '../../../extension/chat/session';
import { DEMO_MODEL_NAME, demoModelFile } from '../../../extension/engine/demo-model';
import type { ModelPanelState } from '../../../extension/vscode/model-info-html';
import { readGgufHeader } from '../../../scripts/fixtures/gguf-reader';
import { chatFakeEngine, fakeInfo } from '../chat/fake-engine';

/** The html each fake panel was given, in order. */
const pages: string[] = [];
vi.mock('vscode', () => ({
  Uri: { joinPath: (base: { path: string }, ...parts: string[]) => ({ path: [base.path, ...parts].join('/') }) },
  ViewColumn: { Active: -1 },
  window: {
    createWebviewPanel: () => {
      const webview = {
        cspSource: 'https://csp',
        asWebviewUri: (u: { path: string }) => ({ toString: () => `https://csp${u.path}` }),
        onDidReceiveMessage: () => ({ dispose() {} }),
        set html(value: string) {
          pages.push(value);
        },
      };
      return { webview, title: '', iconPath: undefined, visible: true, onDidDispose: () => ({ dispose() {} }), onDidChangeViewState: () => ({ dispose() {} }), reveal() {}, dispose() {} };
    },
  },
}));

const { ModelPanel } = await import('../../../extension/vscode/model-panel');

const planned: ModelPanelState = { info: fakeInfo('/m/model.gguf'), isDemo: false, source: 'planned' };
const loadedState: ModelPanelState = { ...planned, source: 'loaded' };
const shown = () => (pages.at(-1)?.includes('As loaded by the engine.') ? 'loaded' : pages.at(-1)?.includes('the model is not loaded yet') ? 'planned' : 'nothing');

describe('the model panel follows the load', () => {
  it('opened before the load: planned, then loaded when the session says so', () => {
    const session: { loaded?: ModelPanelState } = {};
    const panel = new ModelPanel({ path: '/ext' } as never, undefined, () => session.loaded);
    panel.refresh(); // closed: nothing to render
    expect(pages).toHaveLength(0);
    panel.show(planned);
    expect(shown()).toBe('planned');
    panel.refresh(); // still loading
    expect(shown()).toBe('planned');
    expect(pages).toHaveLength(1);
    session.loaded = loadedState;
    panel.refresh();
    expect(shown()).toBe('loaded');
    panel.refresh(); // nothing changed: no reload of the webview
    expect(pages).toHaveLength(2);
  });

  it('a plan that arrives after the model loaded is not shown over it', () => {
    pages.length = 0;
    const panel = new ModelPanel({ path: '/ext' } as never, undefined, () => loadedState);
    panel.show(planned);
    expect(shown()).toBe('loaded');
  });
});

describe('one name per model', () => {
  it("the demo's name is its GGUF general.name, shown before and after the load", async () => {
    expect(readGgufHeader(demoModelFile()).metadata.get('general.name')).toBe(DEMO_MODEL_NAME);
    const engine = chatFakeEngine();
    const session = new ModelSession(engine, async () => ({ options: { modelPath: '/d/demo-moe.gguf' }, isDemo: true }), undefined, () => true, () => 'demo-moe');
    expect(session.summary(true).label).toBe(DEMO_MODEL_NAME);
    const info = await session.ensureLoaded();
    expect(session.summary(true).label).toBe(info.name);
  });

  it("another model: its file's name until it loads, then its own", async () => {
    const engine = chatFakeEngine();
    const session = new ModelSession(engine, async () => ({ options: { modelPath: '/m/x.gguf' }, isDemo: false }), undefined, () => false, () => 'x');
    expect(session.summary(true).label).toBe('x');
    const info = await session.ensureLoaded();
    expect(session.summary(true).label).toBe(info.name);
  });
});
