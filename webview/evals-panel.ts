// The evals in an editor tab (the "MoE Lens Evals" webview panel): the same evals view as the sidebar's Evals
// tab, with the width of an editor for its tables, charts and item details.
import { registerComponents } from './components';
import { deliverEvals, mountEvals } from './evals-mount';
import { connectHost } from './host';

export function startEvalsPanel(root: HTMLElement): void {
  registerComponents();
  const host = connectHost();
  root.classList.add('evals-panel');
  mountEvals(root, host, true);
  host.onMessage((message) => {
    if (message.type === 'evals.update') deliverEvals(message.body);
  });
  host.ready();
}
