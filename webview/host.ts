// The webview's side of the host connection: acquireVsCodeApi once, typed posts, persisted UI state.

import type { HostToWebview, WebviewToHost } from '../extension/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export interface Host {
  post(message: WebviewToHost): void;
  getState<T>(): T | undefined;
  setState(state: unknown): void;
  onMessage(listener: (message: HostToWebview) => void): () => void;
}

let api: VsCodeApi | undefined;
let acquiredFrom: unknown;

/** acquireVsCodeApi may be called once per page: cache its result (per acquire function, for test hosts). */
function vscodeApi(): VsCodeApi {
  const g = globalThis as unknown as { acquireVsCodeApi?: () => VsCodeApi };
  if (api && acquiredFrom === g.acquireVsCodeApi) return api;
  acquiredFrom = g.acquireVsCodeApi;
  if (typeof g.acquireVsCodeApi === 'function') api = g.acquireVsCodeApi();
  else {
    // Outside VS Code (a plain browser page): keep state in memory and log posts.
    let state: unknown;
    api = { postMessage: (m) => console.debug('[moe-lens → host]', m), getState: () => state, setState: (s) => (state = s) };
  }
  return api;
}

export function connectHost(): Host {
  const vscode = vscodeApi();
  return {
    post: (message) => vscode.postMessage(message),
    getState: <T>() => (vscode.getState() as T | undefined) ?? undefined,
    setState: (state) => vscode.setState(state),
    onMessage(listener) {
      const handler = (event: MessageEvent) => {
        const data = event.data as HostToWebview | undefined;
        if (data && typeof data === 'object' && typeof (data as { type?: unknown }).type === 'string') listener(data);
      };
      window.addEventListener('message', handler);
      return () => window.removeEventListener('message', handler);
    },
  };
}
