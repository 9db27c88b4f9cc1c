// The chat's first-token time is what the user waits for: Send → first generated token, the model load included
// and named; the webview's stats line says both.
import { describe, expect, it } from 'vitest';
import { chatFakeEngine, frame, result, sleep } from './fake-engine';
import { after, setup, useFakeClock } from './controller-setup';

describe('first-token time in the chat', () => {
  useFakeClock();

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
    const { controller } = setup({ engine, settings: { sampling: { maxTokens: 8 } } });

    await after(180, controller.send('one'));
    const first = controller.conversation[1].stats!;
    expect(first.modelLoadMs).toBe(120);
    // The engine's own figure (5 ms, prompt only) is replaced by the wait: load + prompt.
    expect(first.timeToFirstTokenMs).toBe(180);

    await after(60, controller.send('two'));
    const second = controller.conversation[3].stats!;
    expect(second.modelLoadMs).toBeUndefined();
    expect(second.timeToFirstTokenMs).toBe(60);
    await controller.dispose();
  });
});
