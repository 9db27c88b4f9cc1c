// Webview HTML with a strict CSP (no vscode import: URIs come in as strings).
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, (c) => ({ '+': 'A', '/': 'B', '=': '' })[c] as string);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ') + ';';
}

export interface PageOptions {
  cspSource: string;
  nonce: string;
  title: string;
  /** Module script URIs (loaded with the nonce). */
  scripts?: string[];
  styles?: string[];
  /** Trusted, already-escaped body markup. */
  body?: string;
  /** Inline CSS placed in a nonce'd <style>. */
  inlineStyle?: string;
  /** Trusted inline JavaScript placed in a nonce'd <script> after the body. */
  inlineScript?: string;
}

export function buildPage(o: PageOptions): string {
  const scripts = (o.scripts ?? []).map((src) => `<script type="module" nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(src)}"></script>`);
  const styles = (o.styles ?? []).map((href) => `<link rel="stylesheet" href="${escapeHtml(href)}">`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
${styles.join('\n')}
${o.inlineStyle ? `<style nonce="${escapeHtml(o.nonce)}">${o.inlineStyle}</style>` : ''}
</head>
<body>
${o.body ?? ''}
${o.inlineScript ? `<script nonce="${escapeHtml(o.nonce)}">${o.inlineScript}</script>` : ''}
${scripts.join('\n')}
</body>
</html>`;
}
