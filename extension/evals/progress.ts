// One wording of an eval run's progress, for the notification and the Evals tab alike (no vscode import):
// "4 of 10 done · a.gguf · plain · item-7 · about 2 min 10 s left". Runs in the webview too: no node imports.
import { formatDuration } from '../format';
import type { EvalProgress } from './types';

export function progressText(p: EvalProgress): string {
  const what = [p.model ? (p.model.split(/[\\/]/).pop() ?? p.model) : '', p.variant ?? '', p.itemId ?? ''].filter(Boolean);
  const left = p.etaMs !== undefined && Number.isFinite(p.etaMs) && p.etaMs > 0 && p.done < p.total ? [`about ${formatDuration(p.etaMs)} left`] : [];
  return [`${p.done} of ${p.total} done`, ...what, ...left].join(' · ');
}
