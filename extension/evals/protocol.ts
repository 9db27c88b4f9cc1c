// Messages between the evals webview view (webview/evals/) and its host (the VS Code adapter). Types only.

import type { EvalItem, EvalProgress, LoadedRun, RunComparison, RunListEntry } from './types';

/** An item as the side-by-side view needs it. */
export type EvalItemView = Omit<EvalItem, 'source'> & { source?: EvalItem['source'] };

/** View → host. */
export type EvalsRequest =
  | { type: 'evals.listRuns' }
  | { type: 'evals.openRun'; dir: string }
  | { type: 'evals.openItem'; dir: string; itemId: string }
  | { type: 'evals.compare'; dirs: string[] }
  | { type: 'evals.cancel' }
  /** The sidebar's compact view asks for the editor tab, showing `then`'s answer there (the VS Code adapter). */
  | { type: 'evals.openInEditor'; then?: Extract<EvalsRequest, { type: 'evals.openRun' | 'evals.compare' }> };

/** Host → view. */
export type EvalsResponse =
  | { type: 'evals.runs'; runs: RunListEntry[] }
  | { type: 'evals.run'; run: LoadedRun }
  | { type: 'evals.item'; dir: string; item: EvalItemView | null }
  | { type: 'evals.comparison'; comparison: RunComparison }
  | { type: 'evals.progress'; dir: string; progress: Omit<EvalProgress, 'sample'> }
  | { type: 'evals.error'; message: string };

export type EvalsMessage = EvalsRequest | EvalsResponse;

