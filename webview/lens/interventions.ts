// Expert interventions from the lens: the token grid's context menu on an expert (Regenerate without this expert
// in this layer / in all layers, Force this expert), and the what-if comparison the host sends back: both answers
// side by side, their tokens marked from the first one where they part, and the routing of both as heat maps.
// The comparison is host data kept here (one at a time); the lens panel renders it through its `whatIf` hook.
import type { RoutingBlock, WebviewToHost, WhatIfAction, WhatIfAnswer, WhatIfState } from '../../extension/protocol';
import { RoutingAggregator, type RoutingSummary } from '../../extension/routing';
import { button, h } from '../components';

export interface WhatIfHooks {
  post(message: WebviewToHost): void;
  /** The token the lens shows (its turn is the answer to regenerate). */
  selection(): { turnId: string; pos: number } | undefined;
  /** The lens panel's heat map of a routing summary. */
  heatmap(summary: RoutingSummary, testid: string): HTMLElement;
  /** Something changed: render the lens again. */
  invalidate(): void;
  /** Routed experts per layer of the model the lens shows. */
  experts(): number;
}

const ACTIONS: { action: WhatIfAction; label: (layer: number, expert: number) => string }[] = [
  { action: 'ablate-layer', label: (l, e) => `Regenerate without expert ${e} in layer ${l}` },
  { action: 'ablate-all', label: (_l, e) => `Regenerate without expert ${e} in all layers` },
  { action: 'force', label: (l, e) => `Force expert ${e} in layer ${l}` },
];

function summaryOf(blocks: readonly RoutingBlock[], experts: number): RoutingSummary | undefined {
  if (!blocks.length) return undefined;
  const agg = new RoutingAggregator({ experts });
  for (const b of blocks) agg.add(b);
  return agg.tokens ? agg.summary() : undefined;
}

export class WhatIfView {
  private state: WhatIfState | undefined;
  /** The section built for `state`: the lens re-renders up to 4×/s while streaming, the comparison only changes in set(). */
  private built: { state: WhatIfState; experts: number; el: HTMLElement } | undefined;
  private menu: HTMLElement | undefined;
  private readonly closeMenu = (e?: Event) => {
    if (e && this.menu?.contains(e.target as Node)) return;
    this.menu?.remove();
    this.menu = undefined;
    document.removeEventListener('mousedown', this.closeMenu, true);
  };

  constructor(private readonly hooks: WhatIfHooks) {}

  set(state: WhatIfState): void {
    this.state = state;
    this.hooks.invalidate();
  }

  /** The expert's context menu, at the pointer (or under the cell, from the keyboard). */
  openMenu(cell: HTMLElement, at?: { x: number; y: number }): void {
    const sel = this.hooks.selection();
    const layer = Number(cell.dataset.layerId);
    const expert = Number(cell.dataset.expert);
    if (!sel || !Number.isInteger(layer) || !Number.isInteger(expert)) return;
    this.closeMenu();
    const items = ACTIONS.map(({ action, label }) => {
      const item = h('button', { type: 'button', role: 'menuitem', class: 'expert-menu-item', 'data-testid': `expert-action-${action}` }, label(layer, expert));
      item.addEventListener('click', () => {
        this.closeMenu();
        this.hooks.post({ type: 'lens.whatIf', turnId: sel.turnId, layer, expert, action });
      });
      return item;
    });
    const menu = h('div', { class: 'expert-menu', role: 'menu', 'data-testid': 'expert-menu', 'aria-label': `Expert ${expert}, layer ${layer}` }, ...items);
    menu.addEventListener('keydown', (e) => {
      const i = items.indexOf(document.activeElement as HTMLButtonElement);
      if (e.key === 'Escape') {
        this.closeMenu();
        cell.focus();
      } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
      }
    });
    const rect = cell.getBoundingClientRect();
    document.body.append(menu);
    // Inside the view: a narrow sidebar would clip a menu opened at the pointer near its right edge.
    const width = menu.offsetWidth;
    const height = menu.offsetHeight;
    const x = at?.x ?? rect.left;
    const y = at?.y ?? rect.bottom;
    menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - width - 2))}px`;
    menu.style.top = `${Math.max(0, y + height > window.innerHeight ? y - height : y)}px`;
    this.menu = menu;
    document.addEventListener('mousedown', this.closeMenu, true);
    items[0].focus();
  }

  /** The comparison section of the lens, or undefined when there is none. */
  render(): HTMLElement | undefined {
    const s = this.state;
    if (!s) return undefined;
    const experts = this.hooks.experts();
    if (this.built?.state === s && this.built.experts === experts) return this.built.el;
    const el = this.build(s, experts);
    this.built = { state: s, experts, el };
    return el;
  }

  private build(s: WhatIfState, experts: number): HTMLElement {
    const close = button('✕', {
      testid: 'what-if-close',
      appearance: 'icon',
      title: 'Close the comparison',
      onClick: () => {
        this.state = undefined;
        this.hooks.invalidate();
      },
    });
    const root = h(
      'section',
      { class: 'what-if', 'data-testid': 'what-if', 'data-status': s.status, 'aria-label': `Answer regenerated ${s.label}` },
      h('div', { class: 'lens-bar' }, h('strong', {}, `Regenerated ${s.label}`), h('span', { class: 'muted' }, ' · same messages and seed'), h('span', { class: 'spacer' }), close),
    );
    if (s.status === 'running') {
      root.append(h('p', { class: 'muted', role: 'status', 'data-testid': 'what-if-running' }, 'Generating the answer with the intervention…'));
      return root;
    }
    if (s.status === 'error' || !s.variant) {
      root.append(h('p', { class: 'error', role: 'alert', 'data-testid': 'what-if-error' }, s.error ?? 'The regeneration failed.'));
      return root;
    }
    const first = s.firstDifference;
    const where =
      first === null || first === undefined
        ? 'The answers are identical: this intervention changed no token.'
        : `The answers part at token ${first + 1}: ${JSON.stringify(s.original.tokens[first] ?? '(end)')} → ${JSON.stringify(s.variant.tokens[first] ?? '(end)')}.`;
    root.append(h('p', { 'data-testid': 'what-if-first', 'data-first': first ?? '' }, where));
    root.append(
      h(
        'div',
        { class: 'side-by-side' },
        this.answer('Original', s.original, first, 'what-if-original'),
        this.answer(`Regenerated ${s.label}`, s.variant, first, 'what-if-variant'),
      ),
    );
    const a = summaryOf(s.original.routing, experts);
    const b = summaryOf(s.variant.routing, experts);
    if (a && b)
      root.append(
        h('div', { class: 'section-label' }, 'Routing of the generated tokens (tokens per layer and expert, in top-k)'),
        h(
          'div',
          { class: 'side-by-side' },
          h('div', {}, h('div', { class: 'section-label' }, 'Original'), this.hooks.heatmap(a, 'what-if-heatmap-original')),
          h('div', {}, h('div', { class: 'section-label' }, 'Regenerated'), this.hooks.heatmap(b, 'what-if-heatmap-variant')),
        ),
      );
    return root;
  }

  private answer(title: string, answer: WhatIfAnswer, first: number | null | undefined, testid: string): HTMLElement {
    const body = h('div', { class: 'what-if-text' });
    if (answer.tokens.length) {
      answer.tokens.forEach((text, i) => {
        const parted = first !== null && first !== undefined && i >= first;
        body.append(h('span', { class: parted ? (i === first ? 'parted first-parted' : 'parted') : 'same', 'data-pos': i }, text));
      });
    } else body.textContent = answer.text;
    return h('div', { 'data-testid': testid }, h('div', { class: 'section-label' }, title), body);
  }
}
