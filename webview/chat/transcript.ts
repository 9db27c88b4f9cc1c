// The transcript: the scrolling list of turn views, windowed. Turns (and, in token view, chunks of tokens) far
// from the viewport are "parked": emptied and held at their measured height, so a 20k-token conversation keeps
// only a few hundred spans in the DOM. The list follows the store: views are added, replaced and removed by
// comparing the store's turn list with the views (by the store's structure version).

import { h } from '../components';
import type { Dirty } from '../scheduler';
import type { Store } from '../store';
import { TurnView, type TranscriptHooks } from './turn-view';
import { EmptyState, type EmptyStateHooks } from './starters';

/** The scrolling list of turns. */
export class Transcript {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private empty: EmptyState;
  private views = new Map<string, TurnView>();
  private order: TurnView[] = [];
  private needWindow = true;
  private lastWindowPass = 0;
  /** The store's versions that the list of views follows. */
  private seen = { load: -1, structure: -1 };

  constructor(
    private store: Store,
    private hooks: TranscriptHooks & EmptyStateHooks & { continuesText(): boolean },
    onScroll: () => void,
  ) {
    this.empty = new EmptyState(hooks);
    this.list = h('div', { class: 'turns' });
    this.el = h('div', { class: 'transcript', 'data-testid': 'transcript', role: 'log', 'aria-live': 'off', 'aria-label': 'Conversation' }, this.empty.el, this.list);
    this.el.addEventListener('scroll', onScroll, { passive: true });
  }

  /** A snapshot replaced the conversation: new views, all but the last few parked at an estimated height. */
  private reset(): void {
    this.views.clear();
    this.order = [];
    this.list.replaceChildren();
    const keep = 3;
    this.store.turns.forEach((t, i) => {
      const v = new TurnView(t, this.hooks);
      this.views.set(t.id, v);
      this.order.push(v);
      if (i < this.store.turns.length - keep) v.parkEstimated(this.el.clientWidth);
    });
    this.list.append(...this.order.map((v) => v.el));
    this.needWindow = true;
  }

  /** Turns were added, replaced (Retry) or removed: one view per turn, in the store's order. */
  private reconcile(): void {
    const ids = new Set(this.store.turns.map((t) => t.id));
    for (const [id, v] of this.views) {
      if (ids.has(id)) continue;
      v.el.remove();
      this.views.delete(id);
    }
    this.order = this.store.turns.map((t) => {
      const v = this.views.get(t.id);
      if (!v) {
        const created = new TurnView(t, this.hooks);
        this.views.set(t.id, created);
        return created;
      }
      if (v.turn !== t) v.setTurn(t);
      return v;
    });
    // Move only the elements that are out of place (appends, in the common case).
    this.order.forEach((v, i) => {
      const at = this.list.children[i];
      if (at !== v.el) this.list.insertBefore(v.el, at ?? null);
    });
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

  /**
   * Follow the store (views per turn, by its versions), update the views that changed or that `dirty` names,
   * then window: park far turns/chunks, render near ones. The pass reads layout, so it runs only when something
   * moved (scroll, resize, turns or chunks added) or every 500 ms while streaming.
   */
  flush(dirty: ReadonlySet<Dirty>): void {
    if (this.seen.load !== this.store.loadVersion) this.reset();
    else if (this.seen.structure !== this.store.structureVersion) this.reconcile();
    this.seen = { load: this.store.loadVersion, structure: this.store.structureVersion };
    if (dirty.has('window')) this.needWindow = true;
    this.empty.el.hidden = this.order.length > 0;
    if (!this.empty.el.hidden) this.empty.update(this.hooks.continuesText());
    for (const v of this.order) {
      if (v.update(dirty.has(`turn:${v.turn.id}`))) this.needWindow = true;
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
