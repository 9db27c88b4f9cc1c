// The webview bundle (dist/webview) loaded into a webview — the sidebar's view or the evals editor tab: scripts on,
// command URIs off, resources only from the bundle and media/, the page under the strict CSP of html.ts.
import * as vscode from 'vscode';
import { WEBVIEW_ASSETS } from '../protocol';
import { buildPage, makeNonce } from './html';

/** Sets `webview`'s options and page; `body` is trusted markup (the bundle reads its mode from #root). */
export function loadWebviewBundle(webview: vscode.Webview, extensionUri: vscode.Uri, title: string, body: string): void {
  webview.options = {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
  const asset = (p: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p.split('/'))).toString();
  webview.html = buildPage({
    cspSource: webview.cspSource,
    nonce: makeNonce(),
    title,
    scripts: [asset(WEBVIEW_ASSETS.script)],
    styles: [asset(WEBVIEW_ASSETS.style)],
    body,
  });
}
