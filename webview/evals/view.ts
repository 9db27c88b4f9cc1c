// The evals view for the webview: its state (runs, the open run or comparison, progress, an error), the host's
// answers, and the navigation between the runs list (runs-list.ts), a run (run-view.ts) and a comparison
// (comparison.ts). Everything from documents or model output is untrusted: it is only ever set with textContent.

import type { EvalsRequest, EvalsResponse } from '../../extension/evals/protocol';
import type { EvalProgress, LoadedRun, RunComparison, RunListEntry } from '../../extension/evals/types';
import { progressText } from '../../extension/evals/progress';
import { h } from '../components';
import { renderComparison } from './comparison';
import { RunView } from './run-view';
import { renderRuns } from './runs-list';

export interface EvalsHost {
  post(msg: EvalsRequest): void;
  /** The sidebar: a compact runs list whose runs and comparisons open in the evals editor tab. */
  compact?: boolean;
}

export class EvalsView {
  private runs: RunListEntry[] = [];
  private selected = new Set<string>();
  private run: LoadedRun | undefined;
  private comparison: RunComparison | undefined;
  private progress = new Map<string, Omit<EvalProgress, 'sample'>>();
  private readonly runView = new RunView({ request: (msg) => this.request(msg), render: () => this.render(), container: () => this.container });
  private mode: 'runs' | 'run' | 'compare' = 'runs';
  private error: string | undefined;
  private readonly container: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: EvalsHost,
  ) {
    this.container = h('div', { class: 'evals-root' });
    root.append(this.container);
    this.request({ type: 'evals.listRuns' });
    this.render();
  }

  private request(msg: EvalsRequest): void {
    this.host.post(msg);
  }

  /** A run or a comparison: in place in the editor tab, in the editor tab from the sidebar. */
  private open(msg: Extract<EvalsRequest, { type: 'evals.openRun' | 'evals.compare' }>): void {
    this.request(this.host.compact ? { type: 'evals.openInEditor', then: msg } : msg);
  }

  /** Handles a host message; returns false for messages that are not for this view. */
  handleMessage(msg: unknown): boolean {
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') return false;
    const m = msg as EvalsResponse;
    // The sidebar stays a list: a finished run or a comparison is shown in the editor tab, here the list refreshes.
    if (this.host.compact && (m.type === 'evals.run' || m.type === 'evals.comparison')) {
      this.request({ type: 'evals.listRuns' });
      return true;
    }
    switch (m.type) {
      case 'evals.runs':
        this.runs = m.runs;
        for (const dir of [...this.selected]) if (!m.runs.some((r) => r.dir === dir)) this.selected.delete(dir);
        break;
      case 'evals.run':
        this.run = m.run;
        this.mode = 'run';
        this.runView.sample = undefined;
        this.runView.item = undefined;
        break;
      case 'evals.item':
        if (this.run && m.dir === this.run.dir) this.runView.item = m.item;
        break;
      case 'evals.comparison':
        this.comparison = m.comparison;
        this.mode = 'compare';
        break;
      case 'evals.progress':
        this.progress.set(m.dir, m.progress);
        if (this.mode === 'runs' || this.run?.dir === m.dir) this.renderProgress();
        return true;
      case 'evals.error':
        this.error = m.message;
        break;
      default:
        return false;
    }
    this.render();
    return true;
  }

  dispose(): void {
    this.container.remove();
  }

  // -------------------------------------------------------------------------------------------------------------

  private render(): void {
    const tab = (label: string, mode: 'runs' | 'run' | 'compare') => {
      const b = h('button', { 'aria-pressed': String(this.mode === mode) }, label);
      b.addEventListener('click', () => this.show(mode));
      return b;
    };
    const nav = h(
      'nav',
      { class: 'evals-nav', 'aria-label': 'Evaluations' },
      tab('Runs', 'runs'),
      this.run && tab(`Run: ${this.run.id}`, 'run'),
      this.comparison && tab('Comparison', 'compare'),
    );
    const body =
      this.mode === 'run' && this.run
        ? this.runView.render(this.run)
        : this.mode === 'compare' && this.comparison
          ? renderComparison(this.comparison)
          : renderRuns(this.runs, this.selected, !!this.host.compact, { request: (msg) => this.request(msg), open: (msg) => this.open(msg), render: () => this.render() });
    const parts: Node[] = [nav];
    if (this.error) {
      const dismiss = h('button', {}, 'Dismiss');
      dismiss.addEventListener('click', () => {
        this.error = undefined;
        this.render();
      });
      parts.push(h('div', { class: 'evals-error', role: 'alert' }, h('span', {}, this.error), dismiss));
    }
    parts.push(h('div', { class: 'evals-progress', 'aria-live': 'polite' }), body);
    this.container.replaceChildren(...parts);
    this.renderProgress();
  }

  private show(mode: 'runs' | 'run' | 'compare'): void {
    this.mode = mode;
    if (mode === 'runs') this.request({ type: 'evals.listRuns' });
    this.render();
  }

  private renderProgress(): void {
    const box = this.container.querySelector('.evals-progress');
    if (!box) return;
    const lines: Node[] = [];
    for (const [dir, p] of this.progress) {
      if (p.kind === 'done') continue;
      const name = dir.split(/[\\/]/).pop() ?? dir;
      const meter = h('progress', { max: String(Math.max(1, p.total)), value: String(p.done), 'aria-label': `Progress of ${name}` });
      const text = `${name}: ${progressText(p)}`;
      lines.push(h('div', { class: 'evals-progress-line' }, meter, h('span', {}, text)));
    }
    if (lines.length) {
      const cancel = h('button', {}, 'Cancel run');
      cancel.addEventListener('click', () => this.request({ type: 'evals.cancel' }));
      lines.push(cancel);
    }
    box.replaceChildren(...lines);
  }
}

let current: EvalsView | undefined;

/** Mounts the evals view into `root`; messages for it are passed to handleEvalsMessage (or view.handleMessage). */
export function mountEvalsView(root: HTMLElement, host: EvalsHost): EvalsView {
  current?.dispose();
  current = new EvalsView(root, host);
  return current;
}

/** Routes a host message to the mounted view; false when it is not an evals message or nothing is mounted. */
export function handleEvalsMessage(msg: unknown): boolean {
  return current?.handleMessage(msg) ?? false;
}
