// The evals editor tab: a webview panel with the evals view at editor width (runs, a run's tables and charts,
// item details, comparisons). One panel; `show()` reveals it. Its requests are answered by the same evals wiring
// as the sidebar's, and eval news (`evals.update`) goes to both; news posted while the tab starts is kept for it.
import * as vscode from 'vscode';
import type { EvalsResponse } from '../evals/protocol';
import type { BundleProtocol } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';
import { PanelHost, type WebviewHostOptions } from './webview-host';

export const EVALS_PANEL_TYPE = 'moeLens.evals';

export class EvalsPanel implements vscode.Disposable {
  private readonly host: PanelHost<BundleProtocol>;

  constructor(
    private readonly extensionUri: vscode.Uri,
    options: WebviewHostOptions<BundleProtocol>,
  ) {
    this.host = new PanelHost(() => vscode.window.createWebviewPanel(EVALS_PANEL_TYPE, 'MoE Lens Evals', vscode.ViewColumn.Active, {}), options);
  }

  /** Opens the tab, or brings it forward. */
  show(): void {
    const { panel, created } = this.host.open(undefined, false);
    if (created) loadWebviewBundle(panel.webview, this.extensionUri, 'MoE Lens Evals', '<div id="root" data-mode="evals"></div>');
  }

  /** Eval news for the tab while it is open. */
  post(body: EvalsResponse): void {
    this.host.post({ type: 'evals.update', body });
  }

  dispose(): void {
    this.host.dispose();
  }
}
