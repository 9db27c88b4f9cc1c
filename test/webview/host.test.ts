// @vitest-environment happy-dom
// The webview's side of the host connection (webview/host.ts): `ready`, requests answered by their id (the answer,
// none, or the host's error), answers kept out of the notification listeners, and malformed host messages ignored.
import { describe, expect, it } from 'vitest';
import type { BundleProtocol, ToHost } from '../../extension/protocol';

const posted: ToHost<BundleProtocol>[] = [];
(globalThis as unknown as { acquireVsCodeApi: unknown }).acquireVsCodeApi = () => ({ postMessage: (m: ToHost<BundleProtocol>) => posted.push(m), getState: () => undefined, setState() {} });
const { connectHost } = await import('../../webview/host');

const fromHost = (data: unknown) => window.dispatchEvent(new MessageEvent('message', { data }));
const lastRequestId = () => {
  const last = posted.at(-1);
  if (last?.type !== 'request') throw new Error(`expected a request, got ${JSON.stringify(last)}`);
  return last.id;
};

describe('the webview host connection', () => {
  it('says ready, and resolves each request with the answer that carries its id', async () => {
    const host = connectHost();
    const notes: unknown[] = [];
    host.onMessage((m) => notes.push(m));
    host.ready();
    expect(posted).toEqual([{ type: 'ready' }]);

    const runs = host.request({ type: 'evals.listRuns' });
    const first = lastRequestId();
    const run = host.request({ type: 'evals.openRun', dir: '/runs/a' });
    const second = lastRequestId();
    const cancel = host.request({ type: 'evals.cancel' });
    const third = lastRequestId();
    expect(new Set([first, second, third]).size).toBe(3);
    expect(posted[2]).toEqual({ type: 'request', id: second, request: { type: 'evals.openRun', dir: '/runs/a' } });

    // Answers arrive out of order; each goes to its own request, none to the notification listeners.
    fromHost({ type: 'response', id: second, error: 'not inside the evaluation runs folder' });
    fromHost({ type: 'response', id: third });
    fromHost({ type: 'response', id: first, response: { type: 'evals.runs', runs: [] } });
    fromHost({ type: 'response', id: first, response: { type: 'evals.error', message: 'a second answer is ignored' } });
    await expect(runs).resolves.toEqual({ type: 'evals.runs', runs: [] });
    await expect(run).rejects.toThrow('not inside the evaluation runs folder');
    await expect(cancel).resolves.toBeUndefined();
    expect(notes).toEqual([]);

    // Notifications reach the listeners; what is not a message does not.
    for (const bad of [null, 'snapshot', 7, { type: 1 }]) fromHost(bad);
    fromHost({ type: 'lens.show', turnId: 'a1' });
    expect(notes).toEqual([{ type: 'lens.show', turnId: 'a1' }]);
  });
});
