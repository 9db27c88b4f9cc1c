// The words the user reads about errors and refusals, and the actions an error offers: one place for every surface
// (chat, CLI, VS Code commands). No vscode import.
import { isEngineError } from './engine/errors';
import type { ErrorAction } from './protocol';
import { ContextOverflow } from './chat/context';

export const BUSY_LOADING = 'The model is still loading. Wait for it, then press Retry (or Stop to cancel the load).';
export const BUSY_GENERATING = 'An answer is still being generated. Press Stop or wait for it, then press Retry.';
export const STOPPED_WHILE_LOADING = 'Stopped while the model was loading.';
export const STOPPED = 'Stopped.';
export const CONTEXT_FULL = 'The answer stopped because the context is full. Start a new chat to continue.';

export function maxTokensReached(maxTokens: number): string {
  return `The answer reached the maximum of ${maxTokens} tokens (setting moeLens.maxTokens).`;
}

export function contextOverflowMessage(error: ContextOverflow): string {
  return `${error.message} Shorten the message or raise moeLens.contextSize.`;
}

export function describeError(error: unknown): string {
  if (isEngineError(error)) {
    switch (error.code) {
      case 'engine-crashed': {
        const { signal, exitCode } = error.details;
        const reason = signal ? `signal ${signal}` : exitCode !== undefined && exitCode !== null ? `exit code ${exitCode}` : undefined;
        return `The engine process crashed${reason ? ` (${reason})` : ''}. Press Retry to start it again; the conversation is kept.`;
      }
      case 'busy':
        return `The engine is busy: ${error.message}`;
      default:
        return error.message;
    }
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The actions an error turn offers, from the error's code: retrying a file that cannot be read never helps. */
export function errorActionsFor(error: unknown): ErrorAction[] {
  if (error instanceof ContextOverflow) return ['new-chat', 'open-settings'];
  if (!isEngineError(error)) return ['retry'];
  switch (error.code) {
    case 'file-not-found':
    case 'not-a-file':
    case 'empty-file':
    case 'not-gguf':
    case 'truncated-gguf':
    case 'unsupported-gguf-version':
    case 'unsupported-architecture':
    case 'not-moe':
      return ['select-model'];
    case 'remote-unavailable':
      // The server may come back (Retry), or another model is wanted.
      return ['retry', 'select-model'];
    case 'remote-auth':
      // A wrong or missing key: Select Model → Connect to a server… takes a new one.
      return ['select-model'];
    case 'context-overflow':
      return ['new-chat', 'open-settings'];
    case 'bad-intervention': // moeLens.expertsPerToken beyond the model's experts
      return ['open-settings'];
    case 'load-failed':
      return ['retry', 'select-model', 'open-settings'];
    default:
      return ['retry'];
  }
}
