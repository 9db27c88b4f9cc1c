// Heat maps of tokens per layer × expert (the lens's aggregates and compare tabs, the what-if), with their colour
// scale, and the header row every layer × expert grid shares.

import type { RoutingSummary } from '../../extension/routing';
import { formatPercent } from '../../extension/format';
import { expertColumns, expertLabel, originalId } from '../../extension/engine/original-experts';
import type { ModelRouting } from '../../extension/engine/types';
import { h } from '../components';

/** The model layer id of a position in the routing arrays (Store.layerId). */
export type LayerId = (layer: number) => number;

/** The colour scale under a heat map: 0 … max (counts), or −max … 0 … +max (a difference, two hues). */
export function heatScale(max: number, unit: string, diverging = false, testid = 'heat-scale'): HTMLElement {
  const bar = h('span', { class: diverging ? 'scale-bar diverging' : 'scale-bar' });
  const ends = diverging ? [`−${max}`, '0', `+${max}`] : ['0', String(max)];
  return h(
    'div',
    { class: 'heat-scale', 'data-testid': testid, 'data-max': max, role: 'img', 'aria-label': diverging ? `Colour scale: −${max} (blue) to +${max} ${unit} (red)` : `Colour scale: 0 to ${max} ${unit}` },
    h('span', { class: 'scale-end' }, ends[0]),
    bar,
    ...ends.slice(1).map((t, i, all) => h('span', { class: i === all.length - 1 ? 'scale-end' : 'scale-mid' }, t)),
    h('span', { class: 'muted scale-unit' }, unit),
  );
}

/**
 * The header row of a layer × expert grid over the given model layers: `L \ E`, then the expert numbers (a pruned
 * model's original ids when its layers kept the same experts, else `L \ slot` and the slots).
 */
export function gridHead(E: number, routing?: ModelRouting, layerIds: readonly number[] = []): HTMLElement {
  const columns = expertColumns(routing, layerIds, E);
  const head = h('div', { role: 'row', class: 'grid-row grid-head' }, h('span', { role: 'columnheader', class: 'grid-label' }, columns.byId ? 'L \\ E' : 'L \\ slot'));
  for (const name of columns.names) head.append(h('span', { role: 'columnheader', class: 'grid-col' }, name));
  return head;
}

/** A heat map of tokens per layer × expert with its colour scale. */
export function heatmap(layerId: LayerId, s: RoutingSummary, which: 'topk' | 'top1', testid = 'heatmap', routing?: ModelRouting): HTMLElement {
  const values = s.perLayer.map((L) => Array.from({ length: s.experts }, (_, e) => L[which][e] ?? 0));
  const max = Math.max(0, ...values.flat());
  return h('div', { class: 'heat-wrap' }, heatGrid(layerId, s, which, testid, max, undefined, routing), heatScale(max, which === 'topk' ? `tokens in top-${s.k}` : 'tokens top-1'));
}

/**
 * The heat map's grid: one cell per layer and expert, filled by `value / max` (or by |value| in two hues when `diff`);
 * `routing` names a pruned model's experts by their original ids.
 */
export function heatGrid(layerId: LayerId, s: RoutingSummary, which: 'topk' | 'top1', testid: string, max: number, diff?: number[][], routing?: ModelRouting): HTMLElement {
  const E = s.experts;
  const grid = h('div', { class: 'grid heat', role: 'grid', 'data-testid': testid, 'data-which': which, 'aria-label': `Tokens per layer and expert (${which === 'topk' ? 'in top-k' : 'top-1'})` });
  grid.style.gridTemplateColumns = `auto repeat(${E}, minmax(8px, 1fr))`;
  grid.append(gridHead(E, routing, s.perLayer.map((L) => layerId(L.layer))));
  s.perLayer.forEach((L, i) => {
    const row = h('div', { role: 'row', class: 'grid-row' }, h('span', { role: 'rowheader', class: 'grid-label' }, `L${layerId(L.layer)}`));
    const total = s.tokens;
    for (let e = 0; e < E; e++) {
      const d = diff?.[i]?.[e];
      const v = d ?? L[which][e] ?? 0;
      const where = `Layer ${layerId(L.layer)}, ${expertLabel(routing, layerId(L.layer), e)}`;
      const label =
        d !== undefined
          ? `${where}: ${d > 0 ? '+' : ''}${d} tokens in top-${s.k} (regenerated − original)`
          : `${where}: ${L.top1[e] ?? 0} tokens top-1, ${L.topk[e] ?? 0} in top-${s.k} (${formatPercent(total ? (L.topk[e] ?? 0) / total : 0)} of tokens)`;
      const cell = h('span', { role: 'gridcell', class: 'cell heat-cell', 'data-testid': 'heat-cell', 'data-layer': L.layer, 'data-expert': e, 'data-original': originalId(routing, layerId(L.layer), e), 'data-count': v, title: label, 'aria-label': label });
      const fill = h('span', { class: d === undefined ? 'heat-fill' : d < 0 ? 'heat-fill less' : 'heat-fill more' });
      fill.style.opacity = String(max ? Math.abs(v) / max : 0);
      cell.append(fill);
      row.append(cell);
    }
    grid.append(row);
  });
  return grid;
}
