// Fitting a conversation into the model's context (no vscode import).
import type { ChatMessage } from '../engine/types';

export type CountTokens = (messages: ChatMessage[]) => Promise<number>;

export interface FitResult {
  messages: ChatMessage[];
  /** History messages left out (oldest first). */
  droppedMessages: number;
  promptTokens: number;
}

/** Tokens kept free for the answer: maxTokens, but never more than half the context nor less than 16. */
export function answerReserve(contextSize: number, maxTokens: number): number {
  const half = Math.floor(contextSize / 2);
  if (!Number.isFinite(maxTokens) || maxTokens <= 0) return Math.max(16, Math.floor(contextSize / 4));
  return Math.max(Math.min(16, half), Math.min(maxTokens, half));
}

export function promptBudget(contextSize: number, maxTokens: number): number {
  return Math.max(1, contextSize - answerReserve(contextSize, maxTokens));
}

/**
 * Drops the oldest history messages until system + history + current fit in `budget` tokens.
 * History always restarts on a user message. Uses a binary search over the cut point (token counts
 * are monotonic in the number of kept messages), so a long conversation costs O(log n) counts.
 * Throws `ContextOverflow` when even system + current alone do not fit.
 */
export async function fitConversation(
  system: ChatMessage | undefined,
  history: ChatMessage[],
  current: ChatMessage,
  budget: number,
  count: CountTokens,
): Promise<FitResult> {
  const build = (start: number) => [...(system ? [system] : []), ...history.slice(start), current];
  // Candidate cut points: 0 and every index where a user message starts; the last is "no history".
  const cuts: number[] = [];
  for (let i = 0; i < history.length; i++) if (i === 0 || history[i].role === 'user') cuts.push(i);
  cuts.push(history.length);

  const full = await count(build(0));
  if (full <= budget) return { messages: build(0), droppedMessages: 0, promptTokens: full };

  const bare = await count(build(history.length));
  if (bare > budget) throw new ContextOverflow(bare, budget);

  // Smallest cut index c (in `cuts`) whose conversation fits; cuts[last] fits.
  let lo = 1;
  let hi = cuts.length - 1;
  let best = hi;
  let bestTokens = bare;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const tokens = await count(build(cuts[mid]));
    if (tokens <= budget) {
      best = mid;
      bestTokens = tokens;
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return { messages: build(cuts[best]), droppedMessages: cuts[best], promptTokens: bestTokens };
}

export class ContextOverflow extends Error {
  constructor(
    readonly tokens: number,
    readonly budget: number,
  ) {
    super(`The message takes ${tokens} tokens but only ${budget} fit in the context (after room for the answer).`);
    this.name = 'ContextOverflow';
  }
}

const TRIMMED_HISTORY_WORDING = 'left out so the conversation fits';

export function trimmedHistoryNote(droppedMessages: number, contextSize: number): string {
  const what = droppedMessages === 1 ? '1 earlier message was' : `${droppedMessages} earlier messages were`;
  return `${what} ${TRIMMED_HISTORY_WORDING} the ${contextSize}-token context.`;
}

/** True for a note made by `trimmedHistoryNote` (it is replaced on each generation). */
export function isTrimmedHistoryNote(note: string): boolean {
  return note.includes(TRIMMED_HISTORY_WORDING);
}
