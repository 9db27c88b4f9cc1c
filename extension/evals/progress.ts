// One wording of an eval run's progress, for the notification and the Evals tab alike (no vscode import):
// "4 of 10 done · a.gguf · plain · item-7 · about 2 min 10 s left". Runs in the webview too: no node imports.
import { formatDuration } from '../format';
import { runModelName } from './model-name';
import type { EvalProgress } from './types';

export function progressText(p: EvalProgress): string {
  const what = [p.model ? runModelName(p.model, p.identity) : '', p.variant ?? '', p.itemId ?? ''].filter(Boolean);
  const left = p.etaMs !== undefined && Number.isFinite(p.etaMs) && p.etaMs > 0 && p.done < p.total ? [`about ${formatDuration(p.etaMs)} left`] : [];
  return [`${p.done} of ${p.total} done`, ...what, ...left].join(' · ');
}

/**
 * Time left in a run, from the samples finished so far. A sample's time grows with its document, so the
 * estimate fits time = a + b · characters over the finished samples (least squares, a and b ≥ 0) and applies
 * it to the documents still to do; a plain mean per sample would jump whenever a long document follows short
 * ones. Until two sizes have been seen, time is taken as proportional to size.
 */
export class EtaEstimator {
  private n = 0;
  private sumX = 0;
  private sumY = 0;
  private sumXX = 0;
  private sumXY = 0;

  /** `remainingWork`: the sizes (characters) of every sample still to run, summed. */
  constructor(
    private remainingWork: number,
    private remainingSamples: number,
  ) {}

  /** A sample finished: `ms` is undefined when it failed (its time says nothing about the others). */
  finished(size: number, ms: number | undefined): void {
    this.remainingWork = Math.max(0, this.remainingWork - size);
    this.remainingSamples = Math.max(0, this.remainingSamples - 1);
    if (ms === undefined) return;
    this.n++;
    this.sumX += size;
    this.sumY += ms;
    this.sumXX += size * size;
    this.sumXY += size * ms;
  }

  /** Milliseconds left, or undefined before the first sample finished. */
  estimate(): number | undefined {
    if (this.n === 0) return undefined;
    const meanX = this.sumX / this.n;
    const meanY = this.sumY / this.n;
    const varX = this.sumXX / this.n - meanX * meanX;
    let b = varX > 1e-9 * Math.max(1, meanX * meanX) ? (this.sumXY / this.n - meanX * meanY) / varX : meanX > 0 ? meanY / meanX : 0;
    let a = meanY - b * meanX;
    if (b < 0) {
      b = 0;
      a = meanY;
    }
    if (a < 0) {
      a = 0;
      b = meanX > 0 ? meanY / meanX : 0;
    }
    return a * this.remainingSamples + b * this.remainingWork;
  }
}
