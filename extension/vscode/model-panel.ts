// "Show Model Info": a WebviewPanel with plain escaped HTML (no scripts) built from ModelInfo.
import * as vscode from 'vscode';
import { makeNonce } from './html';
import { modelInfoPage, type ModelPanelState } from './model-info-html';

export class ModelPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {}

  show(state: ModelPanelState): void {
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('moeLens.modelInfo', 'MoE Lens: Model', vscode.ViewColumn.Active, {
        enableScripts: false,
        enableCommandUris: false,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')],
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'moe-lens.svg');
      this.panel.onDidDispose(() => (this.panel = undefined));
    } else {
      this.panel.reveal();
    }
    this.panel.title = state.info ? `Model: ${state.info.name}` : 'MoE Lens: Model';
    this.panel.webview.html = modelInfoPage(state, this.panel.webview.cspSource, makeNonce());
  }

  get isOpen(): boolean {
    return !!this.panel;
  }

  /** Refreshes the panel if it is open. */
  update(state: ModelPanelState): void {
    if (this.panel) this.panel.webview.html = modelInfoPage(state, this.panel.webview.cspSource, makeNonce());
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
