// "Show Model Info": a WebviewPanel with plain escaped HTML built from ModelInfo; one nonce'd script
// (media/model-panel.js) posts the top-k control's choice, which the host applies to moeLens.expertsPerToken.
import * as vscode from 'vscode';
import { formatModelLabel } from '../format';
import { makeNonce } from './html';
import { modelInfoPage, type ModelPanelState } from './model-info-html';
import { PanelHost } from './webview-host';

/** media/model-panel.js → host; nothing goes the other way (the page is rebuilt). */
export interface ModelPanelProtocol {
  toHost: { type: 'expertsPerToken'; value: number };
  toView: never;
  request: never;
  response: never;
}

export class ModelPanel implements vscode.Disposable {
  private readonly host: PanelHost<ModelPanelProtocol>;

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** The top-k control's choice (0 = the model's own). */
    onExpertsPerToken: (k: number) => void = () => {},
    /** The chat's model as loaded, or undefined while it is not: what the panel shows whenever there is one. */
    private readonly loadedState: () => ModelPanelState | undefined = () => undefined,
  ) {
    this.host = new PanelHost(
      () =>
        vscode.window.createWebviewPanel('moeLens.modelInfo', 'MoE Lens: Model', vscode.ViewColumn.Active, {
          enableScripts: true,
          enableCommandUris: false,
          localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')],
        }),
      {
        onMessage: (m) => {
          if (m.type === 'expertsPerToken' && Number.isInteger(m.value) && m.value >= 0) onExpertsPerToken(m.value);
        },
      },
    );
  }

  private html(state: ModelPanelState): string {
    const webview = this.host.panel!.webview;
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
    const { panel, created } = this.host.open();
    if (created) {
      panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'moe-lens.svg');
      panel.onDidDispose(() => (this.shownState = undefined));
    }
    panel.title = state.info ? `Model: ${formatModelLabel(state.info)}` : 'MoE Lens: Model';
    this.shownState = JSON.stringify(state);
    panel.webview.html = this.html(state);
  }

  /** An open panel follows the chat's model: shown as loaded once it is (again after a reload). */
  refresh(): void {
    const state = this.loadedState();
    if (state) this.update(state);
  }

  /** Re-render an open panel. Only when its content changed: setting the html reloads the webview, which can take
   * focus (and close a quick pick the user has open). */
  private update(state: ModelPanelState): void {
    const panel = this.host.panel;
    if (!panel) return;
    const key = JSON.stringify(state);
    if (key === this.shownState) return;
    this.shownState = key;
    panel.webview.html = this.html(state);
  }

  dispose(): void {
    this.host.dispose();
  }
}
