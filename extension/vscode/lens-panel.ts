// The expert lens in an editor tab ("MoE Lens: Lens"): the same webview bundle as the sidebar, started in lens
// mode (#root data-mode="lens"): the message it follows as tokens beside the lens at editor width, and the what-if
// comparison side by side. One panel; `show(turnId)` opens it or moves it to another message. It receives the
// conversation like the sidebar (snapshot on `ready`, then every chat message), and the what-if results.
import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost, WhatIfState } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';

export const LENS_PANEL_TYPE = 'moeLens.lens';

export class LensEditorPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private turnId: string | undefined;
  /** The latest what-if result per message, sent again to a tab that (re)starts. */
  private readonly whatIfs = new Map<string, WhatIfState>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** Messages from the tab other than `ready` (the same handler as the sidebar's). */
    private readonly onMessage: (message: WebviewToHost) => void,
    /** The conversation to start a (re)loaded tab with. */
    private readonly snapshot: () => HostToWebview,
  ) {}

  get isOpen(): boolean {
    return !!this.panel;
  }

  /** Opens the tab on a message (or brings it forward and moves it there). */
  show(turnId: string | undefined, preserveFocus = false): void {
    this.turnId = turnId ?? this.turnId;
    if (this.panel) {
      this.panel.reveal(undefined, preserveFocus);
      this.post({ type: 'lens.show', turnId: this.turnId });
      return;
    }
    const panel = vscode.window.createWebviewPanel(LENS_PANEL_TYPE, 'MoE Lens: Lens', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, {});
    this.panel = panel;
    this.ready = false;
    loadWebviewBundle(panel.webview, this.extensionUri, 'MoE Lens: Lens', '<div id="root" data-mode="lens"></div>');
    panel.webview.onDidReceiveMessage((message: WebviewToHost) => {
      if (!message || typeof message !== 'object' || typeof (message as { type?: unknown }).type !== 'string') return;
      if (message.type !== 'ready') {
        this.onMessage(message);
        return;
      }
      this.ready = true;
      this.send(this.snapshot());
      this.send({ type: 'lens.show', turnId: this.turnId });
      for (const whatIf of this.whatIfs.values()) this.send({ type: 'lens.whatIf', whatIf });
    });
    panel.onDidDispose(() => {
      this.panel = undefined;
      this.ready = false;
    });
  }

  /** The sidebar's lens moved to another message: an open tab follows it. */
  follow(turnId: string): void {
    if (!this.panel || turnId === this.turnId) return;
    this.turnId = turnId;
    this.post({ type: 'lens.show', turnId });
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
    this.send(message);
  }

  private send(message: HostToWebview): void {
    if (this.panel && this.ready) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
