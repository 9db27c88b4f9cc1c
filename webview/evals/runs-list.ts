// The evals runs list: each run opens (in place, or in the editor tab from the sidebar); checked runs compare.

import type { EvalsRequest } from '../../extension/evals/protocol';
import type { RunListEntry } from '../../extension/evals/types';
import { h } from '../components';
import { scrollable } from './parts';

export interface RunsListHooks {
  request(msg: EvalsRequest): void;
  open(msg: Extract<EvalsRequest, { type: 'evals.openRun' | 'evals.compare' }>): void;
  render(): void;
}

/** The runs, each a link that opens it; checked runs can be compared. The sidebar (`compact`) shows four columns. */
export function renderRuns(runs: RunListEntry[], selected: Set<string>, compact: boolean, hooks: RunsListHooks): HTMLElement {
  const section = h('section', { class: 'evals-runs' });
  const compare = h('button', {}, `Compare selected (${selected.size})`);
  compare.addEventListener('click', () => hooks.open({ type: 'evals.compare', dirs: [...selected] }));
  compare.disabled = selected.size < 2;
  const refresh = h('button', {}, 'Refresh');
  refresh.addEventListener('click', () => hooks.request({ type: 'evals.listRuns' }));
  const toolbar = h('div', { class: 'evals-toolbar' }, h('h2', {}, 'Evaluation runs'), refresh, compare);
  if (compact) {
    const editor = h('button', { 'data-testid': 'evals-open-editor' }, 'Open in editor');
    editor.addEventListener('click', () => hooks.request({ type: 'evals.openInEditor' }));
    toolbar.append(editor);
  }
  section.append(toolbar);
  if (runs.length === 0) {
    section.append(h('p', { class: 'evals-empty' }, 'No runs yet. Run `moe-lens eval SUITE --model MODEL` or the “Run evaluation” command.'));
    return section;
  }
  const table = h('table', { class: 'evals-table' });
  // The sidebar keeps four columns; the editor tab has room for all.
  const heads = compact ? ['', 'Run', 'Status', 'Samples'] : ['', 'Run', 'Suite', 'Models', 'Variants', 'Status', 'Started', 'Samples'];
  table.append(h('thead', {}, h('tr', {}, ...heads.map((label) => h('th', { scope: 'col' }, label)))));
  const tbody = h('tbody');
  for (const r of runs) {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${r.id} for comparison` });
    box.checked = selected.has(r.dir);
    box.addEventListener('change', () => {
      if (box.checked) selected.add(r.dir);
      else selected.delete(r.dir);
      hooks.render();
    });
    const open = h('button', { class: 'evals-link' }, r.id);
    open.addEventListener('click', () => hooks.open({ type: 'evals.openRun', dir: r.dir }));
    const models = r.modelNames.join(', ');
    const started = r.startedAt.replace('T', ' ').slice(0, 19);
    open.title = `${r.suite} · ${models} · ${r.variants.join(', ')} · ${started}`;
    const status = h('td', {}, h('span', { class: `evals-status evals-status-${r.status}` }, r.status));
    const samples = h('td', { class: 'num' }, String(r.samples));
    tbody.append(
      compact
        ? h('tr', {}, h('td', {}, box), h('td', {}, open), status, samples)
        : h(
            'tr',
            {},
            h('td', {}, box),
            h('td', {}, open),
            h('td', {}, r.suite),
            h('td', {}, models),
            h('td', {}, r.variants.join(', ')),
            status,
            h('td', {}, started),
            samples,
          ),
    );
  }
  table.append(tbody);
  section.append(scrollable(table));
  return section;
}
