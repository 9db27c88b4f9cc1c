// The evals view (webview/evals) in the sidebar's Evals tab and in the evals editor tab. Its requests go to the
// host as requests (answered by id); eval news the host sends on its own (`evals.update`) goes to `deliverEvals`.

import type { EvalsRequest, EvalsResponse } from '../extension/evals/protocol';
import { h } from './components';
import type { Host } from './host';
import * as evals from './evals/index';

/** A request of the evals view: its answer (or the error) goes back to the view. */
function ask(host: Host, body: EvalsRequest): void {
  host.request(body).then(
    (answer) => answer && evals.handleEvalsMessage(answer),
    (error: unknown) => evals.handleEvalsMessage({ type: 'evals.error', message: error instanceof Error ? error.message : String(error) }),
  );
}

/** Mounts the evals view into `root` (the sidebar's compact one unless `wide`). */
export function mountEvals(root: HTMLElement, host: Host, wide = false): boolean {
  try {
    root.replaceChildren();
    evals.mountEvalsView(root, { post: (body) => ask(host, body), compact: !wide });
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

/** Eval news from the host for the mounted view (none is mounted before the tab is first opened: it asks then). */
export function deliverEvals(body: EvalsResponse): void {
  evals.handleEvalsMessage(body);
}

/** The sidebar's Evals tab: the evals view is mounted the first time the tab opens. */
export class EvalsTab {
  readonly el = h('div', { class: 'evals-view', 'data-testid': 'evals-view', hidden: true });
  private mounted = false;

  constructor(private readonly host: Host) {}

  open(): void {
    if (this.mounted) return;
    this.mounted = true;
    mountEvals(this.el, this.host);
  }
}
