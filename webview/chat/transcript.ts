// The transcript: the scrolling list of turn views, windowed. Turns (and, in token view, chunks of tokens) far
// from the viewport are "parked": emptied and held at their measured height, so a 20k-token conversation keeps
// only a few hundred spans in the DOM. The list follows the store: views are added, replaced and removed by
// comparing the store's turn list with the views (by the store's structure version).

import { h } from '../components';
import type { Store, TurnModel } from '../store';
import { TurnView, type TranscriptHooks } from './turn-view';

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
