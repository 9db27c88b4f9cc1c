// A Stop that arrives between queueing a generation and its worker starting must stop it (the native abort flag
// used to be cleared on the worker thread, so such a Stop was lost and the answer ran to its token limit).
// In-process LocalEngine: the abort reaches the addon synchronously, right after the work is queued.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalEngine } from '../../extension/engine/local-engine';
import { MOE } from './helpers';

let engine: LocalEngine;
beforeAll(async () => {
  engine = new LocalEngine();
  await engine.load({ modelPath: MOE, threads: 1, contextSize: 512 });
}, 120_000);
afterAll(async () => engine?.dispose());

it('an abort right after the generation is queued stops it', async () => {
  for (let i = 0; i < 5; i++) {
    const controller = new AbortController();
    const answer = engine.generate({ input: { kind: 'text', text: 'The router picks' }, sampling: { temperature: 0, maxTokens: 400, repeatPenalty: 1 }, captureRouting: true }, { signal: controller.signal });
    controller.abort();
    const result = await answer;
    expect(result.stopReason).toBe('aborted');
    expect(result.generatedTokens).toBeLessThan(400);
  }
  // The engine recovers: the next generation is not stopped by the old abort.
  const after = await engine.generate({ input: { kind: 'text', text: 'The router picks' }, sampling: { temperature: 0, maxTokens: 20, repeatPenalty: 1 }, captureRouting: true });
  expect(after.stopReason).not.toBe('aborted');
  expect(after.generatedTokens).toBeGreaterThan(0);
});
