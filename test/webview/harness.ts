// A fake VS Code host for webview tests: stubs acquireVsCodeApi, mounts the app, delivers host messages.
import { expect } from 'vitest';
import type { HostToWebview, Snapshot, ChatTurn, ModelSummary, RoutingBlock, WebviewToHost } from '../../extension/protocol';
import type { ModelInfo } from '../../extension/engine/types';
import { modelInfo } from '../model-info';

export interface FakeHost {
  posted: WebviewToHost[];
  state: unknown;
  send(message: HostToWebview): void;
  app: { flush(): void; dispose(): void; stats: { tokensReceived: number } };
  root: HTMLElement;
}

export function modelSummary(patch: Partial<ModelSummary> = {}, info: Partial<ModelInfo> = {}): ModelSummary {
  return { info: modelInfo(info), label: 'MoE Lens demo', isDemo: true, state: 'ready', captureRouting: true, ...patch };
}

export function turn(id: string, role: ChatTurn['role'], text: string, routing: RoutingBlock[] = [], patch: Partial<ChatTurn> = {}): ChatTurn {
  return { id, role, display: text, content: text, status: 'complete', routing, ...patch };
}

export function snapshot(turns: ChatTurn[], model: ModelSummary = modelSummary()): Snapshot {
  return { protocolVersion: 1, turns, model, moeLayers: model.info?.routing?.moeLayers ?? [] };
}

/** Mounts the sidebar app, or with `mode` 'lens' the editor-tab lens (the page's #root data-mode). */
export async function mount(initialState?: unknown, mode?: string): Promise<FakeHost> {
  const posted: WebviewToHost[] = [];
  const fake = { state: initialState as unknown };
  (globalThis as unknown as { acquireVsCodeApi: unknown }).acquireVsCodeApi = () => ({
    postMessage: (m: WebviewToHost) => posted.push(m),
    getState: () => fake.state,
    setState: (s: unknown) => (fake.state = s),
  });
  document.body.replaceChildren();
  const root = document.createElement('div');
  root.id = 'root';
  if (mode) root.dataset.mode = mode;
  document.body.append(root);
  const { startApp } = await import('../../webview/app');
  const app = startApp(root);
  const host: FakeHost = {
    posted,
    get state() {
      return fake.state;
    },
    set state(v) {
      fake.state = v;
    },
    send(message) {
      window.dispatchEvent(new MessageEvent('message', { data: message }));
      app.flush();
    },
    app,
    root,
  };
  mounted = host;
  return host;
}

let mounted: FakeHost | undefined;

/** Disposes the app of the last mount (for afterEach). */
export function unmount(): void {
  mounted?.app.dispose();
  mounted = undefined;
}

/** Clicks an element (which must exist) and flushes the app's pending render. */
export function click(el: Element | null): void {
  expect(el).not.toBeNull();
  el!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
  mounted?.app.flush();
}

export const q = (sel: string, root: ParentNode = document) => root.querySelector(sel) as HTMLElement | null;
export const qa = (sel: string, root: ParentNode = document) => Array.from(root.querySelectorAll(sel)) as HTMLElement[];
export const tid = (id: string, root: ParentNode = document) => q(`[data-testid="${id}"]`, root);
export const tids = (id: string, root: ParentNode = document) => qa(`[data-testid="${id}"]`, root);
