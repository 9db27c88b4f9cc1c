// What-if regeneration from the lens: the intervention an expert's context action stands for, its label, the
// answer of a turn as token texts and ids, and the first token where two answers part. Pure (no vscode).
import type { Intervention } from '../engine/types';
import type { ChatTurn, RoutingBlock, WhatIfAction, WhatIfAnswer, WhatIfState } from '../protocol';

export function interventionFor(action: WhatIfAction, layer: number, expert: number): Intervention {
  if (action === 'ablate-all') return { ablate: { '*': [expert] } };
  if (action === 'ablate-layer') return { ablate: { [String(layer)]: [expert] } };
  return { force: { [String(layer)]: [expert] } };
}

export function whatIfLabel(action: WhatIfAction, layer: number, expert: number): string {
  if (action === 'ablate-all') return `without expert ${expert} in any layer`;
  if (action === 'ablate-layer') return `without expert ${expert} in layer ${layer}`;
  return `with only expert ${expert} in layer ${layer}`;
}

/** An answer from its text and the routing blocks of its generated tokens. */
export function answerOf(text: string, routing: readonly RoutingBlock[]): WhatIfAnswer {
  const blocks = routing.filter((b) => b.phase === 'generated');
  return { text, tokens: blocks.flatMap((b) => b.texts), ids: blocks.flatMap((b) => Array.from(b.ids)), routing: [...blocks] };
}

export function turnAnswer(turn: ChatTurn): WhatIfAnswer {
  return answerOf(turn.content, turn.routing);
}

/** First index where the token ids differ (a longer answer parts where the shorter ends); null when equal. */
export function firstDifference(a: readonly number[], b: readonly number[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

/**
 * "Keep this answer": the assistant turn with the what-if's regenerated answer (text and routing) in place of its
 * own, and a note saying so. Undefined when the what-if did not complete or the turn is no longer the one it
 * regenerated (another answer, Retry, a kept answer already).
 */
export function keptAnswer(turn: ChatTurn, whatIf: WhatIfState): ChatTurn | undefined {
  const v = whatIf.variant;
  if (whatIf.status !== 'complete' || !v || turn.id !== whatIf.turnId || turn.role !== 'assistant' || turn.content !== whatIf.original.text) return undefined;
  // The stats (speed, token counts) were the original's: they do not describe this answer.
  const { stats: _stats, error: _error, errorActions: _actions, ...rest } = turn;
  return { ...rest, display: v.text, content: v.text, routing: v.routing, status: 'complete', notes: [...(turn.notes ?? []), `Regenerated ${whatIf.label} (kept from a what-if).`] };
}
