// The sidebar chat webview view: HTML with CSP, and message plumbing. State lives in ChatController.
import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';

export const CHAT_VIEW_ID = 'moeLens.chat';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private focusWhenReady = false;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onMessage: (message: WebviewToHost) => void,
    private readonly onReady: () => void,
    private readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void,
  ) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const webview = view.webview;
    loadWebviewBundle(webview, this.extensionUri, 'MoE Lens', '<div id="root"></div>');
    const subs: vscode.Disposable[] = [];
    subs.push(
      webview.onDidReceiveMessage((message: WebviewToHost) => {
        if (!message || typeof message !== 'object' || typeof (message as { type?: unknown }).type !== 'string') return;
        if (message.type === 'ready') {
          this.ready = true;
          this.onReady();
          if (this.focusWhenReady) {
            this.focusWhenReady = false;
            this.post({ type: 'view.focusInput' });
          }
          return;
        }
        try {
          this.onMessage(message);
        } catch (error) {
          this.log('error', `Handling ${message.type} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        }
      }),
      // Hidden views lose their webview (retainContextWhenHidden is off); the new one sends `ready` again.
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.ready = false;
      }),
      view.onDidDispose(() => {
        if (this.view === view) this.view = undefined;
        this.ready = false;
        subs.forEach((d) => d.dispose());
      }),
    );
  }

  get isReady(): boolean {
    return !!this.view && this.ready;
  }

  /** Posts to the webview when it is alive and has said `ready`; otherwise the next snapshot covers it. */
  post(message: HostToWebview): void {
    const view = this.view;
    if (!view || !this.ready) return;
    view.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.log('debug', `Webview dropped ${message.type}`);
      },
      (error: unknown) => this.log('warn', `postMessage(${message.type}) failed: ${String(error)}`),
    );
  }

  /** Shows the view (creating it when needed) and focuses the input. */
  async reveal(focusInput = true): Promise<void> {
    if (focusInput) {
      if (this.isReady) this.post({ type: 'view.focusInput' });
      else this.focusWhenReady = true;
    }
    if (this.view) this.view.show(!focusInput);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    this.view = undefined;
  }
}
