// "Show Model Info": a WebviewPanel with plain escaped HTML built from ModelInfo; one nonce'd script
// (media/model-panel.js) posts the top-k control's choice, which the host applies to moeLens.expertsPerToken.
import * as vscode from 'vscode';
import { makeNonce } from './html';
import { modelInfoPage, type ModelPanelState } from './model-info-html';

export class ModelPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** The top-k control's choice (0 = the model's own). */
    private readonly onExpertsPerToken: (k: number) => void = () => {},
    /** The chat's model as loaded, or undefined while it is not: what the panel shows whenever there is one. */
    private readonly loadedState: () => ModelPanelState | undefined = () => undefined,
  ) {}

  private html(state: ModelPanelState): string {
    const webview = this.panel!.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'model-panel.js')).toString();
    return modelInfoPage(state, webview.cspSource, makeNonce(), [script]);
  }

  /** The state the panel shows (JSON), to skip re-renders that would change nothing. */
  private shownState: string | undefined;

  /**
   * Opens (or reveals) the panel on the loaded model, else on `planned` (read from the GGUF): a plan that arrives
   * after the model finished loading is not shown over it.
   */
  show(planned?: ModelPanelState): void {
    const state = this.loadedState() ?? planned;
    if (!state) return;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('moeLens.modelInfo', 'MoE Lens: Model', vscode.ViewColumn.Active, {
        enableScripts: true,
        enableCommandUris: false,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'media')],
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'moe-lens.svg');
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.shownState = undefined;
      });
      this.panel.webview.onDidReceiveMessage((m: { type?: string; value?: unknown }) => {
        if (m?.type === 'expertsPerToken' && Number.isInteger(m.value) && (m.value as number) >= 0) this.onExpertsPerToken(m.value as number);
      });
    } else {
      this.panel.reveal();
    }
    this.panel.title = state.info ? `Model: ${state.info.name}` : 'MoE Lens: Model';
    this.shownState = JSON.stringify(state);
    this.panel.webview.html = this.html(state);
  }

  /** An open panel follows the chat's model: shown as loaded once it is (again after a reload). */
  refresh(): void {
    const state = this.loadedState();
    if (state) this.update(state);
  }

  /** Re-render an open panel. Only when its content changed: setting the html reloads the webview, which can take
   * focus (and close a quick pick the user has open). */
  private update(state: ModelPanelState): void {
    if (!this.panel) return;
    const key = JSON.stringify(state);
    if (key === this.shownState) return;
    this.shownState = key;
    this.panel.webview.html = this.html(state);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
