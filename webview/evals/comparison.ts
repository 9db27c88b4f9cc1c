// The evals comparison of runs: one column per run × model × variant, the metrics the catalogue compares.

import type { RunComparison } from '../../extension/evals/types';
import { METRICS, metricHeading, metricsIn } from '../../extension/evals/metrics/catalogue';
import { formatMetric } from '../../extension/format';
import { h } from '../components';
import { metricBars, scrollable } from './parts';

/** Runs side by side: charts and a table of every compared metric (the best marked), ROUGE-L F per item. */
export function renderComparison(c: RunComparison): HTMLElement {
  const section = h('section', { class: 'evals-compare' });
  section.append(h('h2', {}, `Comparison of ${new Set(c.columns.map((x) => x.run)).size} runs`));
  const chartLabel = (col: RunComparison['columns'][number]) => col.shortLabel ?? col.label;
  const charted = metricsIn('chart');
  section.append(
    h(
      'div',
      { class: 'evals-charts' },
      ...c.metrics.filter((m) => charted.includes(m.id)).map((m) => metricBars(m, c.columns.map((col, i) => ({ label: chartLabel(col), value: m.values[i] })))),
    ),
  );
  const table = h('table', { class: 'evals-table evals-compare-table' });
  table.append(h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Metric'), ...c.columns.map((col) => h('th', { scope: 'col', title: col.runDir }, col.label)))));
  const tbody = h('tbody');
  for (const m of c.metrics) {
    const present = m.values.filter((v): v is number => v !== undefined);
    const best = present.length > 1 && m.better !== 'neither' ? (m.better === 'higher' ? Math.max(...present) : Math.min(...present)) : undefined;
    tbody.append(
      h(
        'tr',
        { 'data-metric': m.id },
        h('th', { scope: 'row' }, `${metricHeading(m)}${{ higher: ' ↑', lower: ' ↓', neither: '' }[m.better]}`),
        ...m.values.map((v) => h('td', { class: `num${best !== undefined && v === best ? ' evals-best' : ''}` }, formatMetric(v, m.unit))),
      ),
    );
  }
  table.append(tbody);
  section.append(scrollable(table));

  const items = h('table', { class: 'evals-table' });
  items.append(h('caption', {}, 'ROUGE-L F per item'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Item'), ...c.columns.map((col) => h('th', { scope: 'col' }, col.label)))));
  const ib = h('tbody');
  for (const it of c.items) {
    ib.append(
      h(
        'tr',
        {},
        h('th', { scope: 'row', title: it.title ?? '' }, it.itemId),
        ...it.rougeL.map((v, i) =>
          h('td', { class: `num${it.failures[i]?.length ? ' evals-bad' : ''}` }, `${formatMetric(v, METRICS.rougeL.unit)}${it.failures[i]?.length ? ` (${it.failures[i].join(', ')})` : ''}`),
        ),
      ),
    );
  }
  items.append(ib);
  section.append(items);
  return section;
}
