// The expert lens in an editor tab ("MoE Lens: Lens"): the same webview bundle as the sidebar, started in lens
// mode (#root data-mode="lens"): the message it follows as tokens beside the lens at editor width, and the what-if
// comparison side by side. One panel; `show(turnId)` opens it or moves it to another message. It receives the
// conversation like the sidebar (snapshot on `ready`, then every chat message), and the what-if results.
import * as vscode from 'vscode';
import type { BundleProtocol, HostToWebview, WebviewToHost, WhatIfState } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';
import { PanelHost } from './webview-host';
import type { Log } from '../chat/events';

export const LENS_PANEL_TYPE = 'moeLens.lens';

export class LensEditorPanel implements vscode.Disposable {
  private readonly host: PanelHost<BundleProtocol>;
  private turnId: string | undefined;
  /** The latest what-if result per message, sent again to a tab that (re)starts. */
  private readonly whatIfs = new Map<string, WhatIfState>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** Messages from the tab (the same handler as the sidebar's). */
    onMessage: (message: WebviewToHost) => void,
    /** The conversation to start a (re)loaded tab with. */
    snapshot: () => HostToWebview,
    log?: Log,
    /** The tab's title (a tab of another conversation, e.g. the requests from VS Code chat, has its own). */
    private readonly title = 'MoE Lens: Lens',
  ) {
    this.host = new PanelHost(
      (_column, preserveFocus) => vscode.window.createWebviewPanel(LENS_PANEL_TYPE, this.title, { viewColumn: vscode.ViewColumn.Active, preserveFocus }, {}),
      {
        onMessage,
        log,
        // A (re)started tab gets the conversation, its message and the comparisons: nothing else is kept for it.
        keepUntilReady: () => false,
        onReady: () => {
          this.host.post(snapshot());
          this.host.post({ type: 'lens.show', turnId: this.turnId });
          for (const whatIf of this.whatIfs.values()) this.host.post({ type: 'lens.whatIf', whatIf });
        },
      },
    );
  }

  get isOpen(): boolean {
    return !!this.host.panel;
  }

  /** Opens the tab on a message (or brings it forward and moves it there). */
  show(turnId: string | undefined, preserveFocus = false): void {
    this.turnId = turnId ?? this.turnId;
    const { panel, created } = this.host.open(undefined, preserveFocus);
    if (created) loadWebviewBundle(panel.webview, this.extensionUri, this.title, '<div id="root" data-mode="lens"></div>');
    else this.host.post({ type: 'lens.show', turnId: this.turnId });
  }

  /** The sidebar's lens moved to another message: an open tab follows it. */
  follow(turnId: string): void {
    if (!this.host.panel || turnId === this.turnId) return;
    this.turnId = turnId;
    this.host.post({ type: 'lens.show', turnId });
  }

  /** A message for the tab when it is up (the snapshot on `ready` covers what it missed while starting). */
  post(message: HostToWebview): void {
    // What-ifs are kept for a restarted tab until their message is replaced (kept answer, Retry) or the conversation is.
    if (message.type === 'lens.whatIf') this.whatIfs.set(message.whatIf.turnId, message.whatIf);
    else if (message.type === 'chat.turnAdded') this.whatIfs.delete(message.turn.id);
    else if (message.type === 'snapshot') {
      const ids = new Set(message.snapshot.turns.map((t) => t.id));
      for (const id of [...this.whatIfs.keys()]) if (!ids.has(id)) this.whatIfs.delete(id);
    }
    this.host.post(message);
  }

  dispose(): void {
    this.host.dispose();
  }
}
