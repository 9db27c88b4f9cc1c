// "Requests from VS Code chat": the requests the language-model provider served, in a lens tab of their own (each
// request's question and answer as a conversation, its routing coloured as in the sidebar's lens), and a quick pick
// that lists them (caller extension, time, tokens) and opens any of them there.
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, type HostToWebview, type WebviewToHost } from '../protocol';
import type { ModelSession } from '../chat/session';
import type { Log } from '../chat/events';
import { describeLmRequest, type LmRequestLog } from '../chat/lm-messages';
import { LensEditorPanel } from './lens-panel';

export class LmRequestsLens implements vscode.Disposable {
  private readonly panel: LensEditorPanel;

  constructor(
    extensionUri: vscode.Uri,
    private readonly requests: LmRequestLog,
    private readonly session: ModelSession,
    private readonly captureRouting: () => boolean,
    log: Log,
  ) {
    // The tab only shows the requests: what-ifs and the sidebar's actions do not apply to them.
    const onMessage = (m: WebviewToHost) => {
      if (m.type === 'webview.error') log('error', `VS Code chat requests lens: ${m.message}`);
    };
    this.panel = new LensEditorPanel(extensionUri, onMessage, () => this.snapshot(), log, 'MoE Lens: Requests from VS Code Chat');
  }

  private snapshot(): HostToWebview {
    const model = this.session.summary(this.captureRouting());
    return { type: 'snapshot', snapshot: { protocolVersion: PROTOCOL_VERSION, turns: this.requests.turns(), model, moeLayers: model.info?.routing?.moeLayers ?? [] } };
  }

  /** A request was recorded or finished: an open tab shows it. */
  refresh(): void {
    if (this.panel.isOpen) this.panel.post(this.snapshot());
  }

  /** Opens the tab on a request's answer (default: the newest request). False when there is none. */
  show(turnId?: string): boolean {
    const record = turnId ? this.requests.get(turnId) : this.requests.last();
    if (!record) return false;
    this.refresh();
    this.panel.show(record.assistant.id);
    return true;
  }

  /** The requests, newest first, in a quick pick; the chosen one opens in the tab. */
  async pick(): Promise<void> {
    const list = this.requests.list().reverse();
    if (!list.length) {
      void vscode.window.showInformationMessage('MoE Lens: no requests from VS Code chat yet (choose the MoE Lens model in the chat, or ask @moe).');
      return;
    }
    const choice = await vscode.window.showQuickPick(
      list.map((s) => ({ label: this.requests.get(s.id)?.user.display.replace(/\s+/g, ' ').slice(0, 80) || '(empty)', description: describeLmRequest(s), id: s.turnId })),
      { title: 'MoE Lens: Requests from VS Code Chat', placeHolder: 'Open a request in the lens', ignoreFocusOut: true },
    );
    if (choice) this.show(choice.id);
  }

  dispose(): void {
    this.panel.dispose();
  }
}
