// The chat's first-token time is what the user waits for: Send → first generated token, the model load included
// and named; the webview's stats line says both.
import { describe, expect, it } from 'vitest';
import { ChatController } from '../../../extension/chat/controller';
import { ModelSession } from '../../../extension/chat/session';
import type { HostToWebview } from '../../../extension/protocol';
import { chatFakeEngine, frame, result, sleep } from './fake-engine';

describe('first-token time in the chat', () => {
  it('counts from Send, includes the model load on the first answer and names it; later answers have no load', async () => {
    const engine = chatFakeEngine();
    engine.loadDelayMs = 120;
    // 60 ms of prompt evaluation before the first generated token.
    engine.script = async (_req, cb) => {
      cb.onFrame?.(frame('prompt', 0, [1, 2, 3], ''));
      await sleep(60);
      cb.onFrame?.(frame('generated', 3, [10], 'Hi'));
      return result('Hi', 'eos', 3, 1);
    };
    const posts: HostToWebview[] = [];
    const session = new ModelSession(engine, async () => ({ options: { modelPath: '/m.gguf' }, isDemo: false }));
    const controller = new ChatController({ engine, session, settings: () => ({ systemPrompt: '', sampling: { maxTokens: 8 }, captureRouting: true }), post: (m) => void posts.push(m), flushIntervalMs: 5 });

    await controller.send('one');
    const first = controller.conversation[1].stats!;
    expect(first.modelLoadMs).toBeGreaterThanOrEqual(110);
    // The engine's own figure (5 ms, prompt only) is replaced by the wait: load + prompt.
    expect(first.timeToFirstTokenMs).toBeGreaterThanOrEqual(first.modelLoadMs! + 50);

    await controller.send('two');
    const second = controller.conversation[3].stats!;
    expect(second.modelLoadMs).toBeUndefined();
    expect(second.timeToFirstTokenMs).toBeGreaterThanOrEqual(50);
    expect(second.timeToFirstTokenMs).toBeLessThan(first.modelLoadMs!);
    await controller.dispose();
  });
});
