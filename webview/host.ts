// The webview's side of the host connection (its host side is extension/vscode/webview-host.ts): acquireVsCodeApi
// once, typed posts, `ready` once the page listens, requests answered by id, persisted UI state.

import type { BundleProtocol, ResponseMessage, ToHost, ToView, ViewProtocol } from '../extension/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

export interface Host<P extends ViewProtocol = BundleProtocol> {
  post(message: P['toHost']): void;
  /** Asks the host; resolves with its answer (undefined when it has none), rejects with its error. */
  request(request: P['request']): Promise<P['response'] | undefined>;
  /** The page listens: the host starts posting (and sends what it kept meanwhile). */
  ready(): void;
  getState<T>(): T | undefined;
  setState(state: unknown): void;
  /** The host's notifications (answers go to `request`'s promise instead). */
  onMessage(listener: (message: P['toView']) => void): () => void;
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

/** A host message: an object with a string `type` (anything else is ignored). */
function hostMessage(event: MessageEvent): ToView<ViewProtocol> | undefined {
  const data = event.data as unknown;
  return data && typeof data === 'object' && typeof (data as { type?: unknown }).type === 'string' ? (data as ToView<ViewProtocol>) : undefined;
}

/** Requests waiting for their answer, by id (one listener for the page, whatever the number of connections). */
const pending = new Map<number, { resolve(response: unknown): void; reject(error: Error): void }>();
let lastId = 0;
let answering = false;

function listenForAnswers(): void {
  if (answering) return;
  answering = true;
  window.addEventListener('message', (event) => {
    const message = hostMessage(event);
    if (message?.type !== 'response') return;
    const { id, error, response } = message as ResponseMessage<ViewProtocol>;
    const waiting = pending.get(id);
    pending.delete(id);
    if (error !== undefined) waiting?.reject(new Error(String(error)));
    else waiting?.resolve(response);
  });
}

export function connectHost<P extends ViewProtocol = BundleProtocol>(): Host<P> {
  const vscode = vscodeApi();
  const send = (message: ToHost<P>) => vscode.postMessage(message);
  return {
    post: send,
    request(request) {
      listenForAnswers();
      const id = ++lastId;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (response: unknown) => void, reject });
        send({ type: 'request', id, request });
      });
    },
    ready: () => send({ type: 'ready' }),
    getState: <T>() => (vscode.getState() as T | undefined) ?? undefined,
    setState: (state) => vscode.setState(state),
    onMessage(listener) {
      const handler = (event: MessageEvent) => {
        const message = hostMessage(event) as ToView<P> | undefined;
        if (message && message.type !== 'response') listener(message as P['toView']);
      };
      window.addEventListener('message', handler);
      return () => window.removeEventListener('message', handler);
    },
  };
}
