// The sidebar chat webview view: the bundle under the strict CSP, connected through WebviewHost. State lives in
// ChatController: a (re)loaded page gets a snapshot on `ready` (onReady), so nothing else is kept for it but focus.
import * as vscode from 'vscode';
import type { BundleProtocol } from '../protocol';
import { loadWebviewBundle } from './webview-bundle';
import { WebviewHost, type WebviewHostOptions } from './webview-host';

export const CHAT_VIEW_ID = 'moeLens.chat';

export class ChatViewProvider extends WebviewHost<BundleProtocol> implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  /** Reveal asked for the input's focus before the view existed. */
  private focusWhenResolved = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    options: Omit<WebviewHostOptions<BundleProtocol>, 'keepUntilReady'>,
  ) {
    super({ ...options, keepUntilReady: (m) => m.type === 'view.focusInput', queueLimit: 1 });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    loadWebviewBundle(view.webview, this.extensionUri, 'MoE Lens', '<div id="root"></div>');
    this.attach(view.webview);
    if (this.focusWhenResolved) this.post({ type: 'view.focusInput' });
    this.focusWhenResolved = false;
    const subs = [
      // Hidden views lose their page (retainContextWhenHidden is off); the new one says `ready` again.
      view.onDidChangeVisibility(() => {
        if (!view.visible) this.reload();
      }),
      view.onDidDispose(() => {
        subs.forEach((d) => d.dispose());
        if (this.view !== view) return;
        this.view = undefined;
        this.detach();
      }),
    ];
  }

  /** Shows the view (creating it when needed) and focuses the input. */
  async reveal(focusInput = true): Promise<void> {
    if (focusInput && this.view) this.post({ type: 'view.focusInput' });
    else if (focusInput) this.focusWhenResolved = true;
    if (this.view) this.view.show(!focusInput);
    else await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
  }
}
