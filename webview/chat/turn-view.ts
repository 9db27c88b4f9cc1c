// One turn of the transcript: header (role, "◧ Tokens" toggle), body (markdown, or the token view), meta (source
// chip, notes, error with its actions, stats). Streaming markdown is split at the last stable block boundary,
// so each frame re-parses only the tail. The view re-renders what changed since it last rendered, by the
// turn's versions (text, routing, info) and by what the app marks dirty (token view on/off, colours).

import type { ChatTurn, ErrorAction, PromptSegment, PromptSegmentRole, WebviewToHost } from '../../extension/protocol';
import { formatTokensPerSecond, formatWait } from '../../extension/format';
import { countLines, formatLineRange } from '../../extension/chat/summarize';
import { button, h, setAttrs } from '../components';
import { decorateCodeBlocks, renderMarkdown, stableSplit } from '../markdown';
import type { TurnModel } from '../store';
import { SEGMENT_LABEL, TokenView, type TokenViewHooks } from './token-view';

export interface TranscriptHooks extends TokenViewHooks {
  post(message: WebviewToHost): void;
  selectTurn(turnId: string): void;
  toggleTokens(turnId: string): void;
  isTokenView(turnId: string): boolean;
  /** The model continues text (not an assistant): its answers are shown as plain text, with no code blocks. */
  continuesText?(): boolean;
}

export const ROLE_LABEL: Record<string, string> = { user: 'You', assistant: 'Model', system: 'System' };

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
  /** The turn's versions that the body and the meta show (-1: not rendered yet). */
  private seen = { text: -1, routing: -1, info: -1 };
  private metaInfoVersion = -1;

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
    const openLens = button('↗', {
      testid: 'turn-open-lens',
      appearance: 'icon',
      title: 'Open in editor: this message in the expert lens, in an editor tab',
      attrs: { class: 'turn-open-lens', 'aria-label': 'Open this message in the lens editor tab' },
      onClick: () => this.hooks.post({ type: 'lens.openInEditor', turnId: this.turn.id }),
    });
    const header = h('div', { class: 'turn-header' }, this.roleEl, h('span', { class: 'spacer' }), this.toggle, openLens);
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
    this.seen = { text: -1, routing: -1, info: -1 };
    this.renderMeta();
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

  /**
   * Bring the view up to date with its turn: the meta when the turn's info moved, the body when its text,
   * routing or info moved or `force` (UI state the turn does not know: token view on or off). Cheap when
   * nothing changed. Returns true when the layout changed shape.
   */
  update(force = false): boolean {
    const t = this.turn;
    if (t.infoVersion !== this.metaInfoVersion) this.renderMeta();
    if (this.parked) return false;
    const s = this.seen;
    if (!force && this.mode !== undefined && s.text === t.textVersion && s.routing === t.routingVersion && s.info === t.infoVersion) return false;
    this.seen = { text: t.textVersion, routing: t.routingVersion, info: t.infoVersion };
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
    if (this.plainText()) {
      // Plain text has no blocks to keep: one text node, no markdown lexing.
      this.stableEl.replaceChildren(this.renderText(text));
      this.tailEl.replaceChildren();
      this.stableLen = text.length;
      this.stableSource = text;
      this.renderedText = this.turn.textVersion;
      return;
    }
    // Text only grows while streaming; if it was replaced, start over.
    if (this.stableLen > 0 && text.slice(0, this.stableLen) !== this.stableSource) {
      this.stableEl.replaceChildren();
      this.stableLen = 0;
    }
    // Lex only past the stable prefix (it ends after the last finished block).
    const split = this.stableLen + stableSplit(text.slice(this.stableLen));
    if (split > this.stableLen) {
      this.stableEl.append(this.renderText(text.slice(this.stableLen, split)));
      this.stableLen = split;
      this.stableSource = text.slice(0, split);
    }
    this.tailEl.replaceChildren(this.renderText(text.slice(this.stableLen)));
    this.renderedText = this.turn.textVersion;
  }

  private plainText(): boolean {
    return this.turn.info.role === 'assistant' && this.hooks.continuesText?.() === true;
  }

  private renderText(source: string): DocumentFragment {
    if (this.plainText()) {
      const plain = document.createDocumentFragment();
      plain.append(h('div', { class: 'plain-text' }, source));
      return plain;
    }
    const frag = renderMarkdown(source);
    decorateCodeBlocks(frag, { copy: (code) => this.hooks.post({ type: 'chat.copy', text: code }), insert: (code) => this.hooks.post({ type: 'chat.insertCode', code }) }, codeButton);
    return frag;
  }

  /** The code a Summarize Selection turn sent: a chip that opens the range, and the code itself, collapsed. */
  private sourceChip(source: NonNullable<ChatTurn['source']>): HTMLElement {
    const file = source.fileName.split(/[\\/]/).pop() ?? source.fileName;
    const lines = formatLineRange(source.startLine, source.endLine - source.startLine + 1);
    const open = button(`${file} ${lines}`, { testid: 'source-open', appearance: 'secondary', title: `Open ${source.fileName} at ${lines}`, onClick: () => this.hooks.post({ type: 'editor.reveal', turnId: this.turn.id }) });
    const code = h('pre', { class: 'source-code' }, h('code', {}, source.code));
    return h('div', { class: 'source-chip', 'data-testid': 'source-chip' }, open, h('details', {}, h('summary', {}, `Code sent (${countLines(source.code)} lines)`), code));
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

  private renderMeta(): void {
    const info = this.turn.info;
    this.metaInfoVersion = this.turn.infoVersion;
    // The attribution arrives when the answer ends: the token view is rebuilt to mark the tokens.
    if (info.promptSegments !== this.segmentsShown) {
      this.segmentsShown = info.promptSegments;
      this.mode = undefined;
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
      if (s.timeToFirstTokenMs) bits.push(`first token ${formatWait(s.timeToFirstTokenMs)}${s.modelLoadMs !== undefined ? `, incl. model load ${formatWait(s.modelLoadMs)}` : ''}`);
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
