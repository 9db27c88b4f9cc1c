// Markdown for untrusted model output: `marked` renders, raw HTML in the source is shown as text, and
// DOMPurify sanitizes the result (no scripts, event handlers, styles, forms, frames, SVG/MathML, and only
// http(s)/mailto/#fragment links). Code blocks get Copy / Insert-at-cursor buttons added as DOM nodes.

import { Marked, type Tokens } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

// highlight.js only escapes and wraps in <span class="hljs-…">: its output goes through the same sanitizer
// as the rest of the markdown, and needs no inline style or script (the webview's CSP allows neither).
for (const [name, lang] of Object.entries({ bash, c, cpp, css, diff, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml })) hljs.registerLanguage(name, lang);

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
    // After an inline <pre>, <code>, <kbd> or <script> tag marked leaves the following text unescaped (a "raw
    // block", for HTML it expects the browser to interpret), so e.g. `<pre> <x/onerror=…>` reached the HTML
    // parser. The tag itself is shown as text above; so is that text. (false: marked's own rendering.)
    text(token: Tokens.Text | Tokens.Escape) {
      if (!('tokens' in token && token.tokens) && 'escaped' in token && token.escaped) return escapeHtml(token.text);
      return false;
    },
    // Fenced code in a language highlight.js knows is highlighted; other code is escaped as it is.
    code(token: Tokens.Code) {
      const lang = (token.lang ?? '').trim().split(/\s+/)[0].toLowerCase();
      const known = lang && hljs.getLanguage(lang) ? lang : undefined;
      const body = known ? hljs.highlight(token.text, { language: known, ignoreIllegals: true }).value : escapeHtml(token.text);
      const cls = known ? `hljs language-${known}` : /^[\w+#.-]+$/.test(lang) ? `language-${lang}` : '';
      return `<pre><code${cls ? ` class="${cls}"` : ''}>${body}\n</code></pre>\n`;
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

// What markdown output may contain after both passes. Anything else is unwrapped (its text kept) or,
// for elements whose content is code or markup, dropped entirely.
const ALLOWED_TAGS = new Set(
  'a abbr b blockquote br code del div em h1 h2 h3 h4 h5 h6 hr i kbd li ol p pre q s samp small span strong sub sup table tbody td tfoot th thead tr u ul'.split(' '),
);
const DROP_WITH_CONTENT = new Set(FORBID_TAGS);
const ALLOWED_ATTRS: Record<string, RegExp | true> = { href: SAFE_URI, title: true, class: /^(?:(?:language-[\w+#.-]+|hljs(?:-[\w-]+)?|[a-z]+_+|md-image)(?: |$))+$/, align: /^(left|right|center)$/, start: /^\d+$/ };

/**
 * A second, independent pass over DOMPurify's output (defence in depth, and the whole policy where a DOM
 * implementation defeats DOMPurify's tree walk — happy-dom does): an allowlist of elements and attributes,
 * http(s)/mailto/# links only, rel=noopener on links.
 */
function scrub(root: DocumentFragment): DocumentFragment {
  const all = Array.from(root.querySelectorAll('*'));
  for (const el of all) {
    if (!el.isConnected && !root.contains(el)) continue; // removed with an ancestor
    const name = el.localName.toLowerCase();
    if (el.namespaceURI !== 'http://www.w3.org/1999/xhtml' || DROP_WITH_CONTENT.has(name)) {
      el.remove();
      continue;
    }
    if (!ALLOWED_TAGS.has(name)) {
      el.replaceWith(...Array.from(el.childNodes));
      continue;
    }
    for (const attr of el.getAttributeNames()) {
      const rule = ALLOWED_ATTRS[attr.toLowerCase()];
      const value = (el.getAttribute(attr) ?? '').trim();
      if (rule === undefined || (rule !== true && !rule.test(value)) || (attr.toLowerCase() === 'href' && name !== 'a')) el.removeAttribute(attr);
    }
    if (name === 'a' && el.hasAttribute('href')) el.setAttribute('rel', 'noopener noreferrer nofollow');
  }
  return root;
}

/** Sanitize an HTML string of untrusted origin into a DocumentFragment. */
export function sanitize(html: string): DocumentFragment {
  return scrub(sanitizeWithPurify(html));
}

// Some DOM implementations (happy-dom, used by the unit tests) lose the first top-level node of the input in
// DOMPurify's tree walk; a leading empty sentinel element absorbs that, and is removed if it survives.
const SENTINEL = '<i></i>';

function sanitizeWithPurify(html: string): DocumentFragment {
  const frag = getPurifier().sanitize(SENTINEL + html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS,
    FORBID_ATTR,
    ALLOWED_URI_REGEXP: SAFE_URI,
    ALLOW_DATA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    RETURN_DOM_FRAGMENT: true,
  }) as unknown as DocumentFragment;
  const first = frag.firstChild;
  if (first && first.nodeName === 'I' && first.childNodes.length === 0) first.remove();
  return frag;
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
 * Where a streaming markdown text can be split: the end of the last finished top-level block. marked's lexer
 * gives the blocks; only the last one can still change as text arrives (a paragraph becoming a setext heading, a
 * list or indented code taking more lines, an open code fence), so everything before it renders once and only
 * the tail is parsed again per update. 0 when there is no finished block (or the lexer's pieces do not spell
 * the text, e.g. after a CR).
 */
export function stableSplit(source: string): number {
  let tokens: { type: string; raw: string }[];
  try {
    tokens = marked.lexer(source);
  } catch {
    return 0;
  }
  let last = tokens.length - 1;
  while (last > 0 && tokens[last].type === 'space') last--;
  let split = 0;
  for (let i = 0; i < last; i++) split += tokens[i].raw.length;
  if (split === 0 || !source.startsWith(tokens.slice(0, last).map((t) => t.raw).join(''))) return 0;
  return split;
}

export interface CodeActions {
  copy(code: string): void;
  insert(code: string): void;
}

const COPIED_MS = 1500;

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
    // Copy says that it copied, for a moment (the host writes the clipboard).
    const copy = makeButton('Copy', 'code-copy', () => {
      actions.copy(code.textContent ?? '');
      copy.textContent = 'Copied ✓';
      copy.setAttribute('data-copied', '');
      setTimeout(() => {
        copy.textContent = 'Copy';
        copy.removeAttribute('data-copied');
      }, COPIED_MS);
    });
    bar.append(copy, makeButton('Insert', 'code-insert', () => actions.insert(code.textContent ?? '')));
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
  }
}
