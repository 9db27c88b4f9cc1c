import type { EngineErrorCode } from './types';

/** An error with a stable code and a one-line message meant for users. */
export class EngineError extends Error {
  constructor(
    readonly code: EngineErrorCode,
    message: string,
    /** Structured facts the message also states, for callers that need them (never parsed back from it). */
    readonly details: { exitCode?: number | null; signal?: string | null } = {},
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}

/**
 * The one test for "this was cancelled": the caller's signal fired, the engine reports `aborted` (also across the
 * process boundary, where only the code survives), or a DOM-style AbortError (fetch, node:timers).
 */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (isEngineError(error, 'aborted')) return true;
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'aborted');
}
