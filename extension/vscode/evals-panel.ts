// The evals editor tab: a webview panel with the evals view at editor width (runs, a run's tables and charts,
// item details, comparisons). One panel; `show()` reveals it. Its requests go to the same evals wiring as the
// sidebar's, and eval progress is posted to both.
import * as vscode from 'vscode';
import type { EvalsResponse } from '../evals/protocol';
import type { HostToWebview, WebviewToHost } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';

export const EVALS_PANEL_TYPE = 'moeLens.evals';

export class EvalsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private queued: EvalsResponse[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onRequest: (message: WebviewToHost, reply: (body: EvalsResponse) => void) => void,
  ) {}

  /** Opens the tab, or brings it forward. */
  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, false);
      return;
    }
    const panel = vscode.window.createWebviewPanel(EVALS_PANEL_TYPE, 'MoE Lens Evals', vscode.ViewColumn.Active, {});
    this.panel = panel;
    this.ready = false;
    loadWebviewBundle(panel.webview, this.extensionUri, 'MoE Lens Evals', '<div id="root" data-mode="evals"></div>');
    panel.webview.onDidReceiveMessage((message: WebviewToHost) => {
      if (!message || typeof message !== 'object') return;
      if (message.type === 'ready') {
        this.ready = true;
        for (const body of this.queued.splice(0)) this.post(body);
        return;
      }
      this.onRequest(message, (body) => this.post(body));
    });
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
  }

  /** Posts to the tab when it is up; kept for it while it starts (dropped when it is closed). */
  post(body: EvalsResponse): void {
    if (!this.panel) return;
    if (!this.ready) {
      if (this.queued.length < 50) this.queued.push(body);
      return;
    }
    void this.panel.webview.postMessage({ type: 'evals.response', body } satisfies HostToWebview);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
