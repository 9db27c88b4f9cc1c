// The lens's Token tab: the selected token's text, its path of top-1 experts and its layer × expert grid of gate
// weights (built once per shape; only the chosen cells change between tokens; arrow keys move, the context menu
// opens an expert's actions).

import { float32Shortest } from '../../extension/routing';
import { h } from '../components';
import type { Store } from '../store';
import { gridHead } from './heatmap';
import { expertLabel, originalId } from '../../extension/engine/original-experts';

export interface TokenTabHooks {
  selection(): { turnId: string; pos: number } | undefined;
  /** The number of experts to draw (the model's, or the most any message was routed over). */
  experts(): number;
  /** An expert's context menu in the grid (interventions.ts). */
  expertMenu?(cell: HTMLElement, at?: { x: number; y: number }): void;
}

export class TokenTab {
  constructor(
    private readonly store: Store,
    private readonly hooks: TokenTabHooks,
  ) {}

  /** The grid of the last rendered token, reused while the shape (layers × experts) stays the same. */
  private gridCache: { grid: HTMLElement; layers: number; E: number; key: string; cells: HTMLElement[]; chosen: HTMLElement[] } | undefined;

  /** The selected token: its text, path of top-1 experts and layer × expert gate weights. */
  render(): HTMLElement {
    const sel = this.hooks.selection();
    const turn = sel ? this.store.get(sel.turnId) : undefined;
    const tok = turn && sel ? turn.routing.token(sel.pos) : undefined;
    if (!turn || !tok || !sel) return h('p', { class: 'muted', 'data-testid': 'token-detail-empty' }, 'Select a token: click it, or focus the tokens and use the arrow keys.');
    const E = Math.max(this.hooks.experts(), turn.agg.experts);
    // One numbering everywhere (token view, what-if, exports): within the message, from 1.
    const number = sel.pos + 1;
    const root = h('div', { class: 'token-detail', 'data-testid': 'token-detail', 'data-pos': sel.pos, 'data-number': number, 'data-turn-id': turn.id });
    root.append(
      h(
        'div',
        { class: 'token-head' },
        h('code', { class: 'token-text' }, JSON.stringify(tok.text)),
        h('span', { class: 'muted' }, ` token ${number} of ${turn.routing.count} · id ${tok.id} · ${tok.phase === 'prompt' ? 'prompt' : 'generated'}`),
      ),
    );
    if (tok.layers === 0) {
      root.append(h('p', { class: 'muted' }, 'No routing was recorded for this token.'));
      return root;
    }
    const { layers, k } = tok;
    // A pruned model's experts by their original ids (the routing is in slots).
    const routing = this.store.model.info?.routing;
    const name = (l: number, e: number) => expertLabel(routing, this.store.layerId(l), e);
    // Path of top-1 experts.
    const path = h('div', { class: 'path', 'data-testid': 'token-path', 'aria-label': 'Top-1 expert per layer' });
    for (let l = 0; l < layers; l++) {
      const e = tok.experts[l * k];
      const w = float32Shortest(tok.weights[l * k]);
      const id = originalId(routing, this.store.layerId(l), e);
      const label = `Layer ${this.store.layerId(l)}: top-1 ${name(l, e)}, gate weight ${w}`;
      path.append(h('span', { class: `chip tok x${e}`, 'data-layer': l, 'data-expert': e, 'data-original': id, title: label, 'aria-label': label, tabindex: -1 }, String(id)));
    }
    root.append(h('div', { class: 'section-label' }, 'Path of top-1 experts (layer 0 → last)'), path);

    // Layer × expert grid: built once per shape, then only the chosen cells change between tokens.
    let cache = this.gridCache;
    const key = `${layers}x${E}:${this.store.moeLayers.join(',')}:${JSON.stringify(routing?.originalExpertIds ?? null)}`;
    if (!cache || cache.key !== key) cache = this.gridCache = { ...this.buildGrid(layers, E), key };
    const { grid, cells } = cache;
    for (const cell of cache.chosen) {
      const l = Number(cell.dataset.layer);
      const e = Number(cell.dataset.expert);
      cell.className = 'cell';
      cell.removeAttribute('data-weight');
      cell.removeAttribute('data-rank');
      cell.tabIndex = -1;
      cell.replaceChildren();
      const label = `Layer ${this.store.layerId(l)}, ${name(l, e)}: not chosen`;
      cell.title = label;
      cell.setAttribute('aria-label', label);
    }
    cache.chosen = [];
    for (let l = 0; l < layers; l++) {
      for (let r = 0; r < k; r++) {
        const e = tok.experts[l * k + r];
        const cell = cells[l * E + e];
        if (!cell) continue;
        const weight = tok.weights[l * k + r];
        const w = float32Shortest(weight);
        cell.className = `cell chosen x${e}`;
        cell.setAttribute('data-weight', String(w));
        cell.setAttribute('data-rank', String(r));
        const label = `Layer ${this.store.layerId(l)}, ${name(l, e)}: rank ${r + 1} of ${k}, gate weight ${w}`;
        cell.title = label;
        cell.setAttribute('aria-label', label);
        const fill = h('span', { class: 'fill' });
        fill.style.width = `${Math.max(0, Math.min(1, weight)) * 100}%`;
        cell.replaceChildren(fill);
        cache.chosen.push(cell);
      }
    }
    if (cache.chosen[0]) cache.chosen[0].tabIndex = 0;
    grid.setAttribute('aria-label', `Gate weights of token ${number}: rows are layers, columns experts`);
    root.append(h('div', { class: 'section-label' }, `Gate weights: ${layers} layers × ${E} experts, top-${k} filled by weight`), grid);
    return root;
  }

  private buildGrid(layers: number, E: number): Omit<NonNullable<TokenTab['gridCache']>, 'key'> {
    const grid = h('div', { class: 'grid', role: 'grid', 'data-testid': 'token-grid', 'aria-rowcount': layers + 1, 'aria-colcount': E + 1 });
    grid.style.gridTemplateColumns = `auto repeat(${E}, minmax(10px, 1fr))`;
    const routing = this.store.model.info?.routing;
    grid.append(gridHead(E, routing, Array.from({ length: layers }, (_, l) => this.store.layerId(l))));
    const cells: HTMLElement[] = [];
    for (let l = 0; l < layers; l++) {
      const layerId = this.store.layerId(l);
      const row = h('div', { role: 'row', class: 'grid-row', 'data-layer': l }, h('span', { role: 'rowheader', class: 'grid-label' }, `L${layerId}`));
      for (let e = 0; e < E; e++) {
        const label = `Layer ${layerId}, ${expertLabel(routing, layerId, e)}: not chosen`;
        const cell = h('span', { role: 'gridcell', class: 'cell', 'data-testid': 'grid-cell', 'data-layer': l, 'data-layer-id': layerId, 'data-expert': e, 'data-original': originalId(routing, layerId, e), tabindex: -1, title: label, 'aria-label': label });
        cells.push(cell);
        row.append(cell);
      }
      grid.append(row);
    }
    grid.addEventListener('keydown', (ev) => this.gridKey(grid, ev, E));
    // An expert's actions (regenerate without it, force it): right-click, or the context-menu key / Shift+F10.
    grid.addEventListener('contextmenu', (ev) => {
      const cell = (ev.target as HTMLElement).closest('.cell') as HTMLElement | null;
      if (!cell || !this.hooks.expertMenu) return;
      ev.preventDefault();
      this.hooks.expertMenu(cell, ev.clientX || ev.clientY ? { x: ev.clientX, y: ev.clientY } : undefined);
    });
    return { grid, layers, E, cells, chosen: [] };
  }

  private gridKey(grid: HTMLElement, e: KeyboardEvent, E: number): void {
    const cell = (e.target as HTMLElement).closest('.cell') as HTMLElement | null;
    if (!cell) return;
    const l = Number(cell.dataset.layer);
    const x = Number(cell.dataset.expert);
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const next = grid.querySelector(`.cell[data-layer="${l + m[0]}"][data-expert="${Math.max(0, Math.min(E - 1, x + m[1]))}"]`) as HTMLElement | null;
    if (next) {
      cell.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
}
