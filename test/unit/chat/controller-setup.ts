// The chat controller tests' one setup: the chat test engine, a model session on it, a store and a history that
// keep what they are given (as JSON, like VS Code's memento), and every post collected. Timers are vitest's fake
// ones in these tests (`useFakeClock`): the batcher's flushes, the fake engine's delays and Date.now advance only
// when a test says so.
import { afterEach, beforeEach, vi } from 'vitest';
import { ChatController, type ChatSettings } from '../../../extension/chat/controller';
import { ModelSession } from '../../../extension/chat/session';
import { ConversationHistory } from '../../../extension/chat/history';
import type { HostToWebview } from '../../../extension/protocol';
import { chatFakeEngine, type FakeEngine } from './fake-engine';

export interface SetupOptions {
  engine?: FakeEngine;
  /** Fixed settings over the defaults, or a getter read on every answer. */
  settings?: Partial<ChatSettings> | (() => ChatSettings);
  stored?: unknown;
  isDemo?: boolean;
  path?: () => string;
  onPost?: (m: HostToWebview) => void;
}

const clone = (d: unknown) => JSON.parse(JSON.stringify(d)) as unknown;

export function setup(opts: SetupOptions = {}) {
  const engine = opts.engine ?? chatFakeEngine();
  const posts: HostToWebview[] = [];
  let saved: unknown = opts.stored;
  const store = { load: () => saved, save: (d: unknown) => void (saved = clone(d)) };
  const session = new ModelSession(engine, async () => ({ options: { modelPath: opts.path?.() ?? '/m.gguf' }, isDemo: opts.isDemo ?? false }));
  const settings: ChatSettings = { systemPrompt: '', sampling: { maxTokens: 32 }, captureRouting: true, ...(typeof opts.settings === 'object' ? opts.settings : {}) };
  let n = 0;
  let past: unknown;
  const history = new ConversationHistory({ load: () => past, save: (d: unknown) => void (past = clone(d)) });
  const controller = new ChatController({
    engine,
    session,
    settings: typeof opts.settings === 'function' ? opts.settings : () => settings,
    post: (m) => void (posts.push(m), opts.onPost?.(m)),
    store,
    history,
    flushIntervalMs: 20,
    saveIntervalMs: 0,
    newId: () => `id${n++}`,
  });
  return {
    engine,
    posts,
    controller,
    session,
    store,
    history,
    get saved() {
      return saved;
    },
    settings,
  };
}

/** Fake timers (and Date) for every test of the file. */
export function useFakeClock(): void {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
}

/** Runs `work` while the fake clock advances `ms`, and returns its result. */
export async function after<T>(ms: number, work: Promise<T>): Promise<T> {
  await vi.advanceTimersByTimeAsync(ms);
  return work;
}
