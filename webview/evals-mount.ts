// Mount point of the evals view (owned by the evals engineer: webview/evals/index.ts exports
// `mountEvalsView(root, host)` and `handleEvalsMessage(msg)`). Mounted the first time the Evals tab opens.
// Its requests travel wrapped as `evals.request`; the host answers with `evals.response` whose body goes
// to handleEvalsMessage.

import type { EvalsResponse } from '../extension/evals/protocol';
import type { Host } from './host';
import * as evals from './evals/index';

let mounted = false;
const pending: EvalsResponse[] = [];

export function mountEvals(root: HTMLElement, host: Host): boolean {
  try {
    root.replaceChildren();
    evals.mountEvalsView(root, { post: (body) => host.post({ type: 'evals.request', body }), compact: true });
    mounted = true;
    for (const body of pending.splice(0)) evals.handleEvalsMessage(body);
    return true;
  } catch (error) {
    root.replaceChildren();
    const p = document.createElement('p');
    p.className = 'muted';
    p.dataset.testid = 'evals-unavailable';
    p.textContent = 'The evals view failed to start.';
    root.append(p);
    host.post({ type: 'webview.error', message: `evals view: ${error instanceof Error ? error.message : String(error)}` });
    return false;
  }
}

/** An `evals.response` body from the host: handed to the evals view (kept until it is mounted). */
export function deliverEvals(body: EvalsResponse): void {
  if (mounted) evals.handleEvalsMessage(body);
  else if (pending.length < 50) pending.push(body);
}
