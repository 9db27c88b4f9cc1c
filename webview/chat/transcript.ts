// The transcript: one view per turn, windowed. Turns (and, in token view, chunks of 256 tokens) far from the
// viewport are "parked": emptied and held at their measured height, so a 20k-token conversation keeps only a
// few hundred spans in the DOM. Streaming appends to the last turn: markdown is split at the last stable
// block boundary, so each frame re-parses only the tail of the streaming turn.

import type { ChatTurn, ErrorAction, PromptSegment, PromptSegmentRole, WebviewToHost } from '../../extension/protocol';
import { formatTokensPerSecond } from '../../extension/format';
import { button, h, setAttrs } from '../components';
import { decorateCodeBlocks, renderMarkdown, stableSplit } from '../markdown';
import type { Store, TurnModel } from '../store';
import { tokenColor, type ColorMode } from '../lens/color';

/** Token spans come in block-level chunks (one inline layout each): closed at a newline token once they hold
 * CHUNK_MIN tokens, or at CHUNK_MAX tokens. */
export const CHUNK_MIN = 128;
export const CHUNK_MAX = 320;

export interface TranscriptHooks {
  post(message: WebviewToHost): void;
  selectToken(turnId: string, pos: number, focus: boolean): void;
  selectTurn(turnId: string): void;
  toggleTokens(turnId: string): void;
  isTokenView(turnId: string): boolean;
  colorMode(): ColorMode;
  selection(): { turnId: string; pos: number } | undefined;
}

export const ROLE_LABEL: Record<string, string> = { user: 'You', assistant: 'Model', system: 'System' };

const SEGMENT_LABEL: Record<PromptSegmentRole, string> = { message: 'your message', template: 'chat template', system: 'system prompt', history: 'earlier message evaluated again' };

function segmentRole(segments: PromptSegment[] | undefined, pos: number): PromptSegmentRole | undefined {
  if (!segments) return undefined;
  for (const s of segments) if (pos >= s.start && pos < s.end) return s.role;
  return undefined;
}

/** "6 tokens of your message · 12 chat template · …", or nothing when every token is the message's. */
export function segmentSummary(segments: PromptSegment[] | undefined): string | undefined {
  if (!segments?.length) return undefined;
  const counts: Record<PromptSegmentRole, number> = { message: 0, template: 0, system: 0, history: 0 };
  for (const s of segments) counts[s.role] += s.end - s.start;
  if (counts.template + counts.system + counts.history === 0) return undefined;
  const parts = [`${counts.message} tokens of your message`];
  for (const role of ['system', 'history', 'template'] as const) if (counts[role]) parts.push(`${counts[role]} ${SEGMENT_LABEL[role]}`);
  return `${parts.join(' · ')} (dimmed)`;
}

function codeButton(label: string, testid: string, onClick: () => void): HTMLElement {
  return button(label, { testid, appearance: 'secondary', title: label === 'Copy' ? 'Copy code' : 'Insert code at the cursor', onClick });
}

/** Token spans of one turn, in chunks that render only near the viewport. */
class TokenView {
  readonly el: HTMLElement;
  private chunks: { el: HTMLElement; start: number; end: number; rendered: boolean; closed: boolean }[] = [];
  private covered = 0;
  private active = 0;
  private activeSpan: HTMLElement | undefined;
  private selectedSpan: HTMLElement | undefined;

  constructor(
    private turn: TurnModel,
    private hooks: TranscriptHooks,
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

  setTurn(turn: TurnModel): void {
    this.turn = turn;
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
    const label = `${seg && seg !== 'message' ? `${SEGMENT_LABEL[seg]} · ` : ''}#${t.index} ${JSON.stringify(t.text)} id ${t.id}` + (expert !== undefined ? ` · top-1 expert ${expert}` : agree !== undefined ? ` · path agreement ${Math.round(Number(agree) * 100)}%` : '');
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

/** One turn of the transcript. */
export class TurnView {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private meta: HTMLElement;
  private toggle: HTMLElement;
  private roleEl: HTMLElement;
  private stableEl: HTMLElement | undefined;
  private tailEl: HTMLElement | undefined;
  private stableLen = 0;
  private stableSource = '';
  private renderedText = -1;
  private finalRendered = false;
  private tokenView: TokenView | undefined;
  private segmentsShown: PromptSegment[] | undefined;
  private mode: 'md' | 'tokens' | undefined;
  parked = false;
  private dirty = true;

  constructor(
    public turn: TurnModel,
    private hooks: TranscriptHooks,
  ) {
    this.roleEl = h('span', { class: 'role' }, ROLE_LABEL[turn.info.role] ?? turn.info.role);
    this.toggle = button('◧ Tokens', {
      testid: 'turn-lens-toggle',
      appearance: 'secondary',
      title: 'Show this message as tokens coloured by expert, and open it in the expert lens',
      attrs: { class: 'turn-toggle' },
      onClick: () => this.hooks.toggleTokens(this.turn.id),
    });
    this.toggle.setAttribute('aria-pressed', String(hooks.isTokenView(turn.id)));
    const header = h('div', { class: 'turn-header' }, this.roleEl, h('span', { class: 'spacer' }), this.toggle);
    header.addEventListener('click', (e) => {
      if (!(e.target as HTMLElement).closest('vscode-button')) this.hooks.selectTurn(this.turn.id);
    });
    this.body = h('div', { class: 'turn-body' });
    this.meta = h('div', { class: 'turn-meta' });
    this.el = h('article', { class: `turn role-${turn.info.role}`, 'data-testid': 'turn', 'data-turn-id': turn.id, 'data-role': turn.info.role }, header, this.body, this.meta);
    this.renderMeta();
  }

  setTurn(turn: TurnModel): void {
    this.turn = turn;
    this.stableLen = 0;
    this.renderedText = -1;
    this.finalRendered = false;
    this.tokenView = undefined;
    this.mode = undefined;
    this.dirty = true;
    this.renderMeta();
  }

  markDirty(): void {
    this.dirty = true;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** Start parked with a height estimated from the text (never rendered yet). */
  parkEstimated(width: number): void {
    const chars = this.hooks.isTokenView(this.turn.id) ? this.turn.routing.count * 5 : this.turn.info.display.length;
    const lines = (this.turn.info.display.match(/\n/g)?.length ?? 0) / 2;
    const height = Math.ceil((chars * 7.5) / Math.max(120, width || 300) + lines) * 20 + 8;
    this.parked = true;
    this.el.classList.add('parked');
    this.body.style.height = `${height}px`;
  }

  /** Bring the body up to date (cheap when nothing changed). Returns true when the layout changed shape. */
  update(): boolean {
    this.dirty = false;
    if (this.parked) return false;
    const tokens = this.hooks.isTokenView(this.turn.id) && this.turn.routing.count > 0;
    const mode = tokens ? 'tokens' : 'md';
    const pressed = String(this.hooks.isTokenView(this.turn.id));
    if (this.toggle.getAttribute('aria-pressed') !== pressed) this.toggle.setAttribute('aria-pressed', pressed);
    let structural = false;
    if (mode !== this.mode) {
      structural = true;
      this.mode = mode;
      this.body.replaceChildren();
      this.stableEl = this.tailEl = undefined;
      this.tokenView = undefined;
      this.stableLen = 0;
      this.renderedText = -1;
      this.finalRendered = false;
    }
    if (mode === 'tokens') {
      if (!this.tokenView) {
        this.tokenView = new TokenView(this.turn, this.hooks);
        const summary = this.turn.info.role === 'user' ? segmentSummary(this.turn.info.promptSegments) : undefined;
        if (summary) this.body.append(h('div', { class: 'seg-summary muted', 'data-testid': 'prompt-segments' }, summary));
        this.body.append(this.tokenView.el);
      }
      if (this.tokenView.sync(true)) structural = true;
    } else this.updateMarkdown();
    return structural;
  }

  private updateMarkdown(): void {
    const text = this.turn.info.display;
    const streaming = this.turn.info.status === 'streaming';
    if (!this.stableEl || !this.tailEl) {
      this.stableEl = h('div', { class: 'md', 'data-testid': 'turn-text' });
      this.tailEl = h('div', { class: 'md md-tail' });
      this.body.replaceChildren(this.stableEl, this.tailEl);
    }
    if (!streaming) {
      if (this.finalRendered && this.renderedText === this.turn.textVersion) return;
      this.stableEl.replaceChildren(this.renderText(text));
      this.tailEl.replaceChildren();
      this.stableLen = text.length;
      this.finalRendered = true;
      this.renderedText = this.turn.textVersion;
      return;
    }
    if (this.renderedText === this.turn.textVersion) return;
    this.finalRendered = false;
    // Text only grows while streaming; if it was replaced, start over.
    if (this.stableLen > 0 && text.slice(0, this.stableLen) !== this.stableSource) {
      this.stableEl.replaceChildren();
      this.stableLen = 0;
    }
    // Scan only past the stable prefix (it ends after a blank line outside any code fence).
    const split = this.stableLen + stableSplit(text.slice(this.stableLen));
    if (split > this.stableLen) {
      this.stableEl.append(this.renderText(text.slice(this.stableLen, split)));
      this.stableLen = split;
      this.stableSource = text.slice(0, split);
    }
    this.tailEl.replaceChildren(this.renderText(text.slice(this.stableLen)));
    this.renderedText = this.turn.textVersion;
  }

  private renderText(source: string): DocumentFragment {
    const frag = renderMarkdown(source);
    decorateCodeBlocks(frag, { copy: (code) => this.hooks.post({ type: 'chat.copy', text: code }), insert: (code) => this.hooks.post({ type: 'chat.insertCode', code }) }, codeButton);
    return frag;
  }

  /** The code a Summarize Selection turn sent: a chip that opens the range, and the code itself, collapsed. */
  private sourceChip(source: NonNullable<ChatTurn['source']>): HTMLElement {
    const file = source.fileName.split(/[\\/]/).pop() ?? source.fileName;
    const lines = source.startLine === source.endLine ? `line ${source.startLine}` : `lines ${source.startLine}–${source.endLine}`;
    const open = button(`${file} ${lines}`, { testid: 'source-open', appearance: 'secondary', title: `Open ${source.fileName} at ${lines}`, onClick: () => this.hooks.post({ type: 'editor.reveal', turnId: this.turn.id }) });
    const code = h('pre', { class: 'source-code' }, h('code', {}, source.code));
    return h('div', { class: 'source-chip', 'data-testid': 'source-chip' }, open, h('details', {}, h('summary', {}, `Code sent (${source.code.split('\n').length} lines)`), code));
  }

  private errorButton(action: ErrorAction): HTMLElement {
    const post = this.hooks.post;
    switch (action) {
      case 'retry':
        return button('Retry', { testid: 'retry', appearance: 'secondary', onClick: () => post({ type: 'chat.retry', turnId: this.turn.id }) });
      case 'select-model':
        return button('Select model', { testid: 'error-select-model', appearance: 'secondary', onClick: () => post({ type: 'model.select' }) });
      case 'open-settings':
        return button('Open settings', { testid: 'error-open-settings', appearance: 'secondary', onClick: () => post({ type: 'settings.open' }) });
      case 'new-chat':
        return button('New chat', { testid: 'error-new-chat', appearance: 'secondary', onClick: () => post({ type: 'chat.new' }) });
    }
  }

  renderMeta(): void {
    const info = this.turn.info;
    // The attribution arrives when the answer ends: the token view is rebuilt to mark the tokens.
    if (info.promptSegments !== this.segmentsShown) {
      this.segmentsShown = info.promptSegments;
      this.mode = undefined;
      this.dirty = true;
    }
    setAttrs(this.el, { 'data-status': info.status, 'aria-busy': info.status === 'streaming' ? 'true' : undefined });
    const parts: Node[] = [];
    if (info.source) parts.push(this.sourceChip(info.source));
    for (const note of info.notes ?? []) parts.push(h('div', { class: 'note', 'data-testid': 'turn-note', role: 'note' }, note));
    if (info.status === 'error') {
      parts.push(
        h(
          'div',
          { class: 'error', 'data-testid': 'turn-error', role: 'alert' },
          h('span', {}, info.error || 'Generation failed.'),
          ...(info.errorActions ?? ['retry']).map((action) => this.errorButton(action)),
        ),
      );
    }
    if (info.status === 'stopped') parts.push(h('div', { class: 'note', 'data-testid': 'turn-stopped' }, 'Stopped.'));
    const s = info.stats;
    if (s && info.role === 'assistant') {
      const bits = [`${s.generatedTokens} tokens`];
      if (s.generatedTokensPerSecond) bits.push(formatTokensPerSecond(s.generatedTokensPerSecond));
      if (s.timeToFirstTokenMs) bits.push(`first token ${Math.round(s.timeToFirstTokenMs)} ms`);
      if (s.stopReason && s.stopReason !== 'eos') bits.push(`stop: ${s.stopReason}`);
      parts.push(h('div', { class: 'stats', 'data-testid': 'turn-stats' }, bits.join(' · ')));
    }
    this.meta.replaceChildren(...parts);
  }

  /** Read phase of the windowing pass; returns writes to apply. */
  measure(viewTop: number, viewBottom: number, all: boolean): (() => void)[] {
    let near = all;
    let rect: DOMRect | undefined;
    if (!near) {
      rect = this.el.getBoundingClientRect();
      near = rect.bottom >= viewTop && rect.top <= viewBottom;
    }
    if (near && this.parked) {
      return [
        () => {
          this.parked = false;
          this.el.classList.remove('parked');
          this.body.style.removeProperty('height');
          this.mode = undefined;
          this.update();
        },
      ];
    }
    if (!near && !this.parked && this.turn.info.status !== 'streaming') {
      const height = this.body.getBoundingClientRect().height;
      return [
        () => {
          this.parked = true;
          this.el.classList.add('parked');
          this.body.replaceChildren();
          this.body.style.height = `${Math.max(1, Math.round(height))}px`;
          this.tokenView = undefined;
          this.stableEl = this.tailEl = undefined;
        },
      ];
    }
    if (near && this.tokenView) return this.tokenView.measure(viewTop, viewBottom, all);
    return [];
  }

  recolor(): void {
    this.tokenView?.recolor();
  }

  selectToken(pos: number | undefined, focus: boolean): void {
    if (!this.tokenView) return;
    this.tokenView.markSelected(pos);
    if (pos !== undefined) this.tokenView.setActive(pos, focus);
  }
}

/** The scrolling list of turns. */
export class Transcript {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private empty: HTMLElement;
  private views = new Map<string, TurnView>();
  private order: TurnView[] = [];
  private needWindow = true;
  private lastWindowPass = 0;

  constructor(
    private store: Store,
    private hooks: TranscriptHooks,
    onScroll: () => void,
  ) {
    this.empty = h('div', { class: 'empty', 'data-testid': 'transcript-empty' }, 'Ask the model something. Every token of the prompt and the answer records which experts the router chose.');
    this.list = h('div', { class: 'turns' });
    this.el = h('div', { class: 'transcript', 'data-testid': 'transcript', role: 'log', 'aria-live': 'off', 'aria-label': 'Conversation' }, this.empty, this.list);
    this.el.addEventListener('scroll', onScroll, { passive: true });
  }

  /** Rebuild the list of views from the store (keeps views of unchanged turns). */
  reset(): void {
    this.views.clear();
    this.order = [];
    this.list.replaceChildren();
    // All but the last few turns start parked at an estimated height; the windowing pass renders those
    // that are near the viewport.
    const keep = 3;
    this.store.turns.forEach((t, i) => {
      const v = this.add(t);
      if (i < this.store.turns.length - keep) v.parkEstimated(this.el.clientWidth);
    });
    this.needWindow = true;
  }

  add(turn: TurnModel): TurnView {
    const existing = this.views.get(turn.id);
    if (existing) {
      existing.setTurn(turn);
      return existing;
    }
    const view = new TurnView(turn, this.hooks);
    this.views.set(turn.id, view);
    const index = this.store.turns.indexOf(turn);
    const before = this.order[index];
    if (before) {
      this.list.insertBefore(view.el, before.el);
      this.order.splice(index, 0, view);
    } else {
      this.list.append(view.el);
      this.order.push(view);
    }
    this.empty.hidden = true;
    this.needWindow = true;
    return view;
  }

  remove(id: string): void {
    const v = this.views.get(id);
    if (!v) return;
    v.el.remove();
    this.views.delete(id);
    this.order.splice(this.order.indexOf(v), 1);
    this.empty.hidden = this.order.length > 0;
    this.needWindow = true;
  }

  view(id: string): TurnView | undefined {
    return this.views.get(id);
  }

  get all(): TurnView[] {
    return this.order;
  }

  get atBottom(): boolean {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 40;
  }

  scrollToBottom(): void {
    this.el.scrollTop = this.el.scrollHeight;
  }

  /** Ask for a windowing pass on the next flush (scroll, resize, structure changes). */
  requestWindowPass(): void {
    this.needWindow = true;
  }

  /**
   * Update dirty turns, then window: park far turns/chunks, render near ones. The pass reads layout, so it
   * runs only when something moved (scroll, resize, turns or chunks added) or every 500 ms while streaming.
   */
  flush(): void {
    this.empty.hidden = this.order.length > 0;
    for (const v of this.order) {
      if (v.isDirty && v.update()) this.needWindow = true;
    }
    const now = performance.now();
    if (this.needWindow || now - this.lastWindowPass > 500) {
      this.needWindow = false;
      this.lastWindowPass = now;
      this.windowPass();
    }
  }

  windowPass(): void {
    const height = this.el.clientHeight;
    const all = height === 0; // not laid out (hidden view or a test DOM): render everything
    const rect = this.el.getBoundingClientRect();
    const margin = Math.max(600, height * 1.5);
    const top = rect.top - margin;
    const bottom = rect.top + height + margin;
    const writes: (() => void)[] = [];
    for (const v of this.order) writes.push(...v.measure(top, bottom, all));
    for (const w of writes) w();
  }

  recolor(): void {
    for (const v of this.order) v.recolor();
  }
}
