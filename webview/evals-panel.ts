// The evals in an editor tab (the "MoE Lens Evals" webview panel): the same evals view as the sidebar's Evals
// tab, with the width of an editor for its tables, charts and item details. Requests and responses travel as
// in the sidebar (`evals.request` / `evals.response`).
import { registerComponents } from './components';
import { connectHost } from './host';
import * as evals from './evals/index';

export function startEvalsPanel(root: HTMLElement): void {
  registerComponents();
  const host = connectHost();
  root.classList.add('evals-panel');
  evals.mountEvalsView(root, { post: (body) => host.post({ type: 'evals.request', body }) });
  host.onMessage((message) => {
    if (message.type === 'evals.response') evals.handleEvalsMessage(message.body);
  });
  host.post({ type: 'ready' });
}
