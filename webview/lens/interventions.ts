// Expert interventions from the lens: the token grid's context menu on an expert (Regenerate without this expert
// in this layer / in all layers, Force this expert), and the what-if comparison the host sends back. In the editor
// tab: both answers side by side, token i beside token i, the point where they part marked, the routing of both as
// heat maps on one scale and their difference (regenerated − original) on a two-hue scale. In the sidebar: where they
// part and the difference map, with a button to the editor tab. Either offers Keep this answer.
// Comparisons are host data kept here, one per answer; the lens shows the one of the message it shows.
import type { RoutingBlock, WebviewToHost, WhatIfAction, WhatIfState } from '../../extension/protocol';
import { RoutingAggregator, type RoutingSummary } from '../../extension/routing';
import { button, h } from '../components';
import { visibleText } from '../chat/token-view';
import { heatScale } from './heatmap';

export interface WhatIfHooks {
  post(message: WebviewToHost): void;
  /** The token the lens shows (its turn is the answer to regenerate). */
  selection(): { turnId: string; pos: number } | undefined;
  /** The lens panel's heat map grid of a routing summary (top-k counts, or `diff` in two hues), filled by value / max. */
  heatGrid(summary: RoutingSummary, testid: string, max: number, diff?: number[][]): HTMLElement;
  /** Something changed: render the lens again. */
  invalidate(): void;
  /** Routed experts per layer of the model the lens shows. */
  experts(): number;
  /** The message the lens shows: its comparison is the one shown. */
  turnId(): string | undefined;
  /** The editor tab (side by side) rather than the sidebar (compact). */
  editor: boolean;
}

const ACTIONS: { action: WhatIfAction; label: (layer: number, expert: number) => string }[] = [
  { action: 'ablate-layer', label: (l, e) => `Regenerate without expert ${e} in layer ${l}` },
  { action: 'ablate-all', label: (_l, e) => `Regenerate without expert ${e} in all layers` },
  { action: 'force', label: (l, e) => `Force expert ${e} in layer ${l}` },
];

/** Regenerated − original tokens in top-k per layer (rows) and expert; undefined when the shapes differ. */
export function loadDifference(a: RoutingSummary, b: RoutingSummary): number[][] | undefined {
  if (a.layers !== b.layers || a.experts !== b.experts || a.k !== b.k) return undefined;
  return b.perLayer.map((L, i) => Array.from({ length: b.experts }, (_, e) => (L.topk[e] ?? 0) - (a.perLayer[i].topk[e] ?? 0)));
}

function summaryOf(blocks: readonly RoutingBlock[], experts: number): RoutingSummary | undefined {
  if (!blocks.length) return undefined;
  const agg = new RoutingAggregator({ experts });
  for (const b of blocks) agg.add(b);
  return agg.tokens ? agg.summary() : undefined;
}

export class WhatIfView {
  /** The latest comparison of each answer (by the id of the turn it regenerated). */
  private readonly states = new Map<string, WhatIfState>();
  /** The section built for a state: the lens re-renders up to 4×/s while streaming, a comparison only changes in set(). */
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
    this.states.set(state.turnId, state);
    this.hooks.invalidate();
  }

  /** The answer was replaced (kept, Retry) or removed: its comparison no longer applies. */
  drop(turnId: string): void {
    if (this.states.delete(turnId)) this.hooks.invalidate();
  }

  /** A new conversation snapshot: comparisons of answers that are no longer in it go. */
  retain(turnIds: ReadonlySet<string>): void {
    for (const id of [...this.states.keys()]) if (!turnIds.has(id)) this.drop(id);
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

  /** The comparison of the message the lens shows, or undefined when it has none. */
  render(): HTMLElement | undefined {
    const id = this.hooks.turnId();
    const s = id ? this.states.get(id) : undefined;
    if (!s) return undefined;
    const experts = this.hooks.experts();
    if (this.built?.state === s && this.built.experts === experts) return this.built.el;
    const el = this.build(s, experts);
    this.built = { state: s, experts, el };
    return el;
  }

  private build(s: WhatIfState, experts: number): HTMLElement {
    const close = button('✕', { testid: 'what-if-close', appearance: 'icon', title: 'Close the comparison', onClick: () => this.drop(s.turnId) });
    const bar = h('div', { class: 'lens-bar' }, h('strong', {}, `Regenerated ${s.label}`), h('span', { class: 'muted' }, ' · same messages and seed'), h('span', { class: 'spacer' }));
    const root = h('section', { class: 'what-if', 'data-testid': 'what-if', 'data-status': s.status, 'data-turn-id': s.turnId, 'aria-label': `Answer regenerated ${s.label}` }, bar);
    const first = s.firstDifference;
    const done = s.status === 'complete' && s.variant;
    if (done && first !== null && first !== undefined) {
      const keep = button('Keep this answer', {
        testid: 'what-if-keep',
        appearance: 'primary',
        title: 'Replace the original answer in the conversation with the regenerated one',
        onClick: () => {
          keep.setAttribute('disabled', '');
          this.hooks.post({ type: 'lens.keepWhatIf', whatIfId: s.id });
        },
      });
      bar.append(keep);
    }
    if (!this.hooks.editor)
      bar.append(button('Side by side', { testid: 'what-if-open-editor', appearance: 'secondary', title: 'Open both answers side by side in the editor tab', onClick: () => this.hooks.post({ type: 'lens.openInEditor', turnId: s.turnId }) }));
    bar.append(close);
    if (s.status === 'running') {
      root.append(h('p', { class: 'muted', role: 'status', 'data-testid': 'what-if-running' }, 'Generating the answer with the intervention…'));
      return root;
    }
    if (s.status === 'error' || !s.variant) {
      root.append(h('p', { class: 'error', role: 'alert', 'data-testid': 'what-if-error' }, s.error ?? 'The regeneration failed.'));
      return root;
    }
    // Token numbers as everywhere: within the answer, from 1.
    const where =
      first === null || first === undefined
        ? 'The answers are identical: this intervention changed no token.'
        : `The answers part at token ${first + 1}: ${JSON.stringify(s.original.tokens[first] ?? '(end)')} → ${JSON.stringify(s.variant.tokens[first] ?? '(end)')}.`;
    root.append(h('p', { 'data-testid': 'what-if-first', 'data-first': first ?? '' }, where));
    const a = summaryOf(s.original.routing, experts);
    const b = summaryOf(s.variant.routing, experts);
    const diff = a && b ? loadDifference(a, b) : undefined;
    if (this.hooks.editor && a && b) {
      // One scale for both answers' maps, so equal colours are equal counts.
      const max = Math.max(0, ...[a, b].flatMap((x) => x.perLayer.flatMap((L) => Array.from(L.topk))));
      const map = (title: string, el: HTMLElement, scale: HTMLElement) => h('div', { class: 'heat-wrap' }, h('div', { class: 'section-label' }, title), el, scale);
      const maps = h(
        'div',
        { class: 'what-if-maps' },
        map('Original', this.hooks.heatGrid(a, 'what-if-heatmap-original', max), heatScale(max, `tokens in top-${a.k}`)),
        map(`Regenerated`, this.hooks.heatGrid(b, 'what-if-heatmap-variant', max), heatScale(max, `tokens in top-${b.k}`)),
      );
      if (diff) maps.append(this.differenceMap(b, diff));
      root.append(h('div', { class: 'section-label' }, 'Routing of the generated tokens: tokens per layer and expert'), maps);
    } else if (diff && b) root.append(this.differenceMap(b, diff));
    if (this.hooks.editor) root.append(this.aligned(s, first));
    return root;
  }

  private differenceMap(b: RoutingSummary, diff: number[][]): HTMLElement {
    const max = Math.max(0, ...diff.flat().map(Math.abs));
    return h(
      'div',
      { class: 'heat-wrap' },
      h('div', { class: 'section-label' }, 'Difference: regenerated − original'),
      this.hooks.heatGrid(b, 'what-if-heatmap-diff', max, diff),
      heatScale(max, `tokens in top-${b.k}`, true, 'diff-scale'),
    );
  }

  /** Both answers token by token: token i of the original beside token i of the regenerated one. */
  private aligned(s: WhatIfState, first: number | null | undefined): HTMLElement {
    const A = s.original.tokens;
    const B = s.variant?.tokens ?? [];
    const table = h(
      'div',
      { class: 'what-if-aligned', role: 'table', 'data-testid': 'what-if-aligned', 'aria-label': 'The two answers token by token' },
      h('div', { role: 'row', class: 'aligned-row aligned-head' }, h('span', { role: 'columnheader' }, '#'), h('span', { role: 'columnheader' }, 'Original'), h('span', { role: 'columnheader' }, `Regenerated ${s.label}`)),
    );
    const cell = (text: string | undefined, testid: string) =>
      h('span', { role: 'cell', class: text === undefined ? 'aligned-tok ended' : 'aligned-tok', 'data-testid': testid }, text === undefined ? '' : visibleText(text) || '∅');
    for (let i = 0; i < Math.max(A.length, B.length); i++) {
      if (i === first) table.append(h('div', { role: 'row', class: 'aligned-part', 'data-testid': 'what-if-part-marker' }, h('span', { role: 'cell' }, `The answers part here, at token ${i + 1}`)));
      const parted = first !== null && first !== undefined && i >= first;
      table.append(
        h(
          'div',
          { role: 'row', class: parted ? (i === first ? 'aligned-row parted first-parted' : 'aligned-row parted') : 'aligned-row same', 'data-pos': i },
          h('span', { role: 'rowheader', class: 'aligned-num' }, String(i + 1)),
          cell(A[i], 'what-if-original-token'),
          cell(B[i], 'what-if-variant-token'),
        ),
      );
    }
    return table;
  }
}
