// One turn's tokens as spans coloured by expert, in block-level chunks that render only near the viewport
// (chunks far from it are parked at their measured height). Keyboard: arrows, Page Up/Down, Home/End.

import type { PromptSegment, PromptSegmentRole } from '../../extension/protocol';
import { h } from '../components';
import type { TurnModel } from '../store';
import { tokenColor, type ColorMode } from '../lens/color';

/** Token spans come in block-level chunks (one inline layout each): closed at a newline token once they hold
 * CHUNK_MIN tokens, or at CHUNK_MAX tokens. */
export const CHUNK_MIN = 128;
export const CHUNK_MAX = 320;

export interface TokenViewHooks {
  selectToken(turnId: string, pos: number, focus: boolean): void;
  colorMode(): ColorMode;
  selection(): { turnId: string; pos: number } | undefined;
}

export const SEGMENT_LABEL: Record<PromptSegmentRole, string> = { message: 'your message', template: 'chat template', system: 'system prompt', history: 'earlier message evaluated again' };

/** A token's text as shown: each line break gets a visible ↵ before it, so a newline token has width to select. */
export function visibleText(text: string): string {
  return text.replace(/\r?\n/g, '↵$&');
}

function segmentRole(segments: PromptSegment[] | undefined, pos: number): PromptSegmentRole | undefined {
  if (!segments) return undefined;
  for (const s of segments) if (pos >= s.start && pos < s.end) return s.role;
  return undefined;
}

/** Token spans of one turn, in chunks that render only near the viewport. */
export class TokenView {
  readonly el: HTMLElement;
  private chunks: { el: HTMLElement; start: number; end: number; rendered: boolean; closed: boolean }[] = [];
  private covered = 0;
  private active = 0;
  private activeSpan: HTMLElement | undefined;
  private selectedSpan: HTMLElement | undefined;

  constructor(
    private turn: TurnModel,
    private hooks: TokenViewHooks,
  ) {
    this.el = h('div', { class: 'tokens', role: 'listbox', 'aria-label': 'Tokens, coloured by expert', 'data-testid': 'tokens', 'aria-orientation': 'horizontal' });
    this.el.addEventListener('click', (e) => {
      const span = (e.target as HTMLElement).closest?.('.tok') as HTMLElement | null;
      if (span) this.hooks.selectToken(this.turn.id, Number(span.dataset.pos), true);
    });
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    const describe = (e: Event) => {
      const span = (e.target as HTMLElement).closest?.('.tok') as HTMLElement | null;
      if (span && !span.title) this.describe(span);
    };
    this.el.addEventListener('pointerover', describe);
    this.el.addEventListener('focusin', describe);
    const sel = hooks.selection();
    if (sel?.turnId === turn.id) this.active = sel.pos;
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.turn.routing.count;
    if (n === 0) return;
    const cur = this.active;
    let next = cur;
    switch (e.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        next = Math.min(n - 1, cur + 1);
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        next = Math.max(0, cur - 1);
        break;
      case 'PageDown':
        next = Math.min(n - 1, cur + 32);
        break;
      case 'PageUp':
        next = Math.max(0, cur - 32);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = n - 1;
        break;
      case 'Enter':
      case ' ':
        this.hooks.selectToken(this.turn.id, cur, true);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    this.hooks.selectToken(this.turn.id, next, true);
  }

  /**
   * Make chunks for tokens that arrived since the last sync; fill rendered chunks. With `lazy`, complete
   * chunks start parked at an estimated height and the windowing pass renders those near the viewport.
   */
  sync(lazy = false): boolean {
    const n = this.turn.routing.count;
    if (this.covered >= n) return false;
    const prevLast = this.chunks[this.chunks.length - 1];
    const prevLastEnd = prevLast?.end ?? 0;
    const firstNew = this.chunks.length;
    let last = prevLast;
    for (let p = this.covered; p < n; p++) {
      if (!last || last.closed) {
        last = { el: h('div', { class: 'chunk', 'data-start': p }), start: p, end: p, rendered: true, closed: false };
        this.chunks.push(last);
      }
      last.end = p + 1;
      const size = last.end - last.start;
      if (size >= CHUNK_MAX || (size >= CHUNK_MIN && this.turn.routing.text(p).endsWith('\n'))) last.closed = true;
    }
    this.covered = n;
    // The chunk that was open before grows in place.
    if (prevLast && prevLast.rendered && prevLast.end > prevLastEnd) this.appendSpans(prevLast.el, prevLastEnd, prevLast.end);
    // New chunks: built in one go (a long message shown at once), all but the last start parked at an
    // estimated height, and the windowing pass renders those near the viewport.
    const frag = document.createDocumentFragment();
    for (let i = firstNew; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (lazy && i < this.chunks.length - 1) {
        c.rendered = false;
        c.el.classList.add('parked');
        c.el.style.height = `${this.estimateHeight(c.start, c.end)}px`;
      } else this.appendSpans(c.el, c.start, c.end);
      frag.append(c.el);
    }
    this.el.append(frag);
    if (n > 0 && !this.activeSpan?.isConnected) this.setActive(Math.min(this.active, n - 1), false);
    return this.chunks.length > firstNew;
  }

  private estimateHeight(start: number, end: number): number {
    let chars = 0;
    let lines = 0;
    for (let p = start; p < end; p++) {
      const t = this.turn.routing.text(p);
      chars += t.length + 0.5;
      if (t.includes('\n')) lines++;
    }
    const width = Math.max(120, this.el.clientWidth || 300);
    return Math.ceil((chars * 7.5) / width + lines) * 22;
  }

  private span(pos: number, mode: ColorMode, sel: { turnId: string; pos: number } | undefined): HTMLElement {
    const t = this.turn.routing.meta(pos)!;
    const c = tokenColor(this.turn, pos, mode);
    const s = document.createElement('span');
    const seg = segmentRole(this.turn.info.promptSegments, pos);
    s.className = seg && seg !== 'message' ? `tok ${c.cls} seg-${seg}` : `tok ${c.cls}`;
    if (seg) s.setAttribute('data-seg', seg);
    s.setAttribute('data-testid', 'token');
    s.setAttribute('data-index', String(t.index));
    s.setAttribute('data-pos', String(pos));
    if (c.expert >= 0) s.setAttribute('data-expert', String(c.expert));
    if (c.agree !== null) s.setAttribute('data-agree', c.agree.toFixed(2));
    s.setAttribute('role', 'option');
    s.tabIndex = pos === this.active ? 0 : -1;
    if (pos === this.active) this.activeSpan = s;
    if (sel?.turnId === this.turn.id && sel.pos === pos) {
      s.classList.add('sel');
      s.setAttribute('aria-selected', 'true');
      this.selectedSpan = s;
    }
    if (t.text === '') {
      s.textContent = '∅';
      s.classList.add('tok-empty');
    } else if (t.text.includes('\n')) {
      s.textContent = visibleText(t.text);
      s.classList.add('tok-nl');
    } else s.textContent = t.text;
    return s;
  }

  /** Hover text is built on first hover (keeps span creation cheap while streaming). */
  private describe(s: HTMLElement): void {
    const pos = Number(s.dataset.pos);
    const t = this.turn.routing.meta(pos);
    if (!t) return;
    const expert = s.dataset.expert;
    const agree = s.dataset.agree;
    const seg = s.dataset.seg as PromptSegmentRole | undefined; // set by span()
    // Numbered within the message from 1, as in the lens, the what-if and the exports.
    const label = `${seg && seg !== 'message' ? `${SEGMENT_LABEL[seg]} · ` : ''}token ${pos + 1} ${JSON.stringify(t.text)} id ${t.id}` + (expert !== undefined ? ` · top-1 expert ${expert}` : agree !== undefined ? ` · path agreement ${Math.round(Number(agree) * 100)}%` : '');
    s.title = label;
    s.setAttribute('aria-label', label);
  }

  private appendSpans(el: HTMLElement, from: number, to: number): void {
    if (from >= to) return;
    const mode = this.hooks.colorMode();
    const sel = this.hooks.selection();
    const frag = document.createDocumentFragment();
    for (let p = from; p < to; p++) frag.append(this.span(p, mode, sel));
    el.append(frag);
  }

  /** Visibility pass for chunks: returns the chunks to render/park given the viewport (read phase). */
  measure(viewTop: number, viewBottom: number, all: boolean): (() => void)[] {
    const writes: (() => void)[] = [];
    const lastIndex = this.chunks.length - 1;
    this.chunks.forEach((c, i) => {
      let near = all;
      if (!near) {
        const r = c.el.getBoundingClientRect();
        near = r.bottom >= viewTop && r.top <= viewBottom;
      }
      if (near && !c.rendered) {
        writes.push(() => {
          c.el.style.removeProperty('height');
          c.el.classList.remove('parked');
          c.el.replaceChildren();
          this.appendSpans(c.el, c.start, c.end);
          c.rendered = true;
        });
      } else if (!near && c.rendered && i !== lastIndex) {
        const height = c.el.getBoundingClientRect().height;
        writes.push(() => {
          c.el.replaceChildren();
          c.el.classList.add('parked');
          c.el.style.height = `${Math.max(1, Math.round(height))}px`;
          c.rendered = false;
        });
      }
    });
    return writes;
  }

  /** Re-colour rendered spans (parked chunks colour themselves when they come back). */
  recolor(): void {
    const mode = this.hooks.colorMode();
    for (const c of this.chunks) {
      if (!c.rendered) continue;
      for (const s of Array.from(c.el.children) as HTMLElement[]) {
        const pos = Number(s.dataset.pos);
        const col = tokenColor(this.turn, pos, mode);
        s.className = s.className.replace(/\b(x\d+|x-none|a\d|a-none)\b/, col.cls);
        if (col.expert >= 0) s.dataset.expert = String(col.expert);
        else delete s.dataset.expert;
        if (col.agree !== null) s.dataset.agree = col.agree.toFixed(2);
        else delete s.dataset.agree;
        if (s.title) {
          s.removeAttribute('title');
          s.removeAttribute('aria-label');
        }
      }
    }
  }

  /** Ensure the chunk holding `pos` is rendered and return its span. */
  spanAt(pos: number): HTMLElement | undefined {
    const c = this.chunks.find((ch) => pos >= ch.start && pos < ch.end);
    if (!c) return undefined;
    if (!c.rendered) {
      c.el.style.removeProperty('height');
      c.el.classList.remove('parked');
      c.el.replaceChildren();
      this.appendSpans(c.el, c.start, c.end);
      c.rendered = true;
    }
    return c.el.children[pos - c.start] as HTMLElement | undefined;
  }

  setActive(pos: number, focus: boolean): void {
    if (this.activeSpan) this.activeSpan.tabIndex = -1;
    this.active = pos;
    const span = this.spanAt(pos);
    this.activeSpan = span;
    if (span) {
      span.tabIndex = 0;
      if (focus) {
        span.focus({ preventScroll: true });
        span.scrollIntoView?.({ block: 'nearest' });
      }
    }
  }

  markSelected(pos: number | undefined): void {
    const old = this.selectedSpan;
    if (old) {
      old.classList.remove('sel');
      old.setAttribute('aria-selected', 'false');
    }
    this.selectedSpan = undefined;
    if (pos === undefined) return;
    const span = this.spanAt(pos);
    if (span) {
      span.classList.add('sel');
      span.setAttribute('aria-selected', 'true');
      this.selectedSpan = span;
    }
  }
}
