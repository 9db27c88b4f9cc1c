// Markdown for untrusted model output: `marked` renders, raw HTML in the source is shown as text, and
// DOMPurify sanitizes the result (no scripts, event handlers, styles, forms, frames, SVG/MathML, and only
// http(s)/mailto/#fragment links). Code blocks get Copy / Insert-at-cursor buttons added as DOM nodes.

import { Marked, type Tokens } from 'marked';
import DOMPurify from 'dompurify';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML in model output is displayed, never interpreted.
    html(token: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(token.text);
    },
    // Images are not loaded: show their alt text (and URL) instead.
    image(token: Tokens.Image) {
      return `<span class="md-image" title="${escapeHtml(token.href ?? '')}">[image: ${escapeHtml(token.text || token.href || '')}]</span>`;
    },
  },
});

const SAFE_URI = /^(?:https?:|mailto:|#)/i;

const FORBID_TAGS = [
  'script', 'style', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button',
  'textarea', 'select', 'option', 'link', 'meta', 'base', 'svg', 'math', 'template', 'img', 'video', 'audio',
  'source', 'track', 'picture', 'canvas', 'noscript', 'dialog', 'portal',
];
const FORBID_ATTR = ['style', 'srcset', 'action', 'formaction', 'xlink:href', 'background', 'poster', 'ping', 'target'];

let purifier: ReturnType<typeof DOMPurify> | undefined;

function getPurifier(): ReturnType<typeof DOMPurify> {
  if (purifier) return purifier;
  purifier = DOMPurify(window as unknown as Parameters<typeof DOMPurify>[0]);
  purifier.addHook('afterSanitizeAttributes', (node) => {
    const el = node as Element;
    if (!el.getAttributeNames) return;
    for (const name of el.getAttributeNames()) {
      if (/^on/i.test(name)) el.removeAttribute(name);
    }
    if (el.tagName === 'A') {
      const href = el.getAttribute('href');
      if (href !== null && !SAFE_URI.test(href.trim())) el.removeAttribute('href');
      if (el.hasAttribute('href')) el.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
  return purifier;
}

const URI_ATTRS = ['href', 'src', 'xlink:href', 'action', 'formaction', 'data', 'codebase', 'cite', 'background', 'poster', 'srcset'];
const FORBIDDEN = new Set(FORBID_TAGS.map((t) => t.toUpperCase()));

/**
 * A second, independent pass over DOMPurify's output (defence in depth): drop forbidden elements (by local
 * name, any namespace), event-handler and style attributes, and URLs other than http(s)/mailto/#.
 */
function scrub(root: DocumentFragment): DocumentFragment {
  const all = Array.from(root.querySelectorAll('*'));
  for (const el of all) {
    if (FORBIDDEN.has(el.localName.toUpperCase()) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') {
      el.remove();
      continue;
    }
    for (const name of el.getAttributeNames()) {
      const lower = name.toLowerCase();
      if (lower.startsWith('on') || lower === 'style' || FORBID_ATTR.includes(lower)) el.removeAttribute(name);
      else if (URI_ATTRS.includes(lower) && !SAFE_URI.test((el.getAttribute(name) ?? '').trim())) el.removeAttribute(name);
    }
  }
  return root;
}

/** Sanitize an HTML string of untrusted origin into a DocumentFragment. */
export function sanitize(html: string): DocumentFragment {
  return scrub(sanitizeWithPurify(html));
}

function sanitizeWithPurify(html: string): DocumentFragment {
  return getPurifier().sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS,
    FORBID_ATTR,
    ALLOWED_URI_REGEXP: SAFE_URI,
    ALLOW_DATA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment;
}

/** Markdown → sanitized DOM fragment. */
export function renderMarkdown(source: string): DocumentFragment {
  let html: string;
  try {
    html = marked.parse(source) as string;
  } catch {
    html = `<pre>${escapeHtml(source)}</pre>`;
  }
  return sanitize(html);
}

/**
 * Where a streaming markdown text can be split: the end of the last blank line that is not inside a fenced
 * code block. Everything before it renders once; only the tail is re-parsed per frame.
 */
export function stableSplit(source: string): number {
  let inFence = false;
  let fence = '';
  let pos = 0;
  const candidates: number[] = [];
  while (pos < source.length) {
    const nl = source.indexOf('\n', pos);
    if (nl < 0) break; // the last (incomplete) line never closes a block
    const line = source.slice(pos, nl);
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (!inFence) {
        inFence = true;
        fence = m[1];
      } else if (m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) {
        inFence = false;
      }
    } else if (!inFence && line.trim() === '') {
      candidates.push(nl + 1);
    }
    pos = nl + 1;
  }
  // A split is safe when the text after it starts a new block (not a list item or indented continuation,
  // which could join the block before it). The last candidate with something after it wins.
  for (let i = candidates.length - 1; i >= 0; i--) {
    const after = source.slice(candidates[i], candidates[i] + 16);
    if (after.length === 0 || /^\s*$/.test(after)) continue;
    if (/^(\s|[-*+]\s|\d+[.)]\s|>)/.test(after)) continue;
    return candidates[i];
  }
  return 0;
}

export interface CodeActions {
  copy(code: string): void;
  insert(code: string): void;
}

/** Add Copy / Insert buttons to each code block under `root` (idempotent). */
export function decorateCodeBlocks(root: ParentNode, actions: CodeActions, makeButton: (label: string, testid: string, onClick: () => void) => HTMLElement): void {
  for (const pre of Array.from(root.querySelectorAll('pre'))) {
    if (pre.parentElement?.classList.contains('code-block')) continue;
    const code = pre.querySelector('code') ?? pre;
    const wrap = document.createElement('div');
    wrap.className = 'code-block';
    const bar = document.createElement('div');
    bar.className = 'code-actions';
    const lang = /language-([\w+#.-]+)/.exec(code.className)?.[1];
    if (lang) {
      const l = document.createElement('span');
      l.className = 'code-lang';
      l.textContent = lang;
      bar.append(l);
    }
    bar.append(
      makeButton('Copy', 'code-copy', () => actions.copy(code.textContent ?? '')),
      makeButton('Insert', 'code-insert', () => actions.insert(code.textContent ?? '')),
    );
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
  }
}
