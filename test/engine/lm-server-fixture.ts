// VS Code chat's provider stack without vscode, on the real engine: the engine process, the chat's model session, the
// shared generation runner and the LmServer that answers VS Code's requests; and a cancellation token to cancel them.
import { afterAll, beforeAll } from 'vitest';
import { ModelSession } from '../../extension/chat/session';
import { GenerationRunner } from '../../extension/chat/generation';
import { LmRequestLog, type LmRequestRecord } from '../../extension/chat/lm-messages';
import { LmServer, type Cancellation } from '../../extension/chat/lm-serve';
import type { LocalLoadOptions } from '../../extension/engine/types';
import { newEngine } from './helpers';

/** The stack on the model `options` load, loaded before the enclosing describe's tests and disposed after them. */
export function lmServerOn(options: LocalLoadOptions, isDemo: boolean, onRecorded?: (record: LmRequestRecord) => void) {
  const engine = newEngine();
  const session = new ModelSession(engine, async () => ({ options, isDemo }));
  const runner = new GenerationRunner(engine, session);
  const requests = new LmRequestLog();
  const server = new LmServer({ session, runner, requests, settings: () => ({ systemPrompt: '', sampling: {}, captureRouting: true }), onRecorded });
  beforeAll(async () => {
    await session.ensureLoaded();
  }, 60_000);
  afterAll(async () => {
    await engine.dispose();
  });
  return { engine, session, runner, requests, server };
}

/** A cancellation token the test cancels. */
export class Token implements Cancellation {
  isCancellationRequested = false;
  private readonly listeners = new Set<() => void>();
  onCancellationRequested(listener: () => void) {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }
  cancel(): void {
    this.isCancellationRequested = true;
    for (const l of this.listeners) l();
  }
}
