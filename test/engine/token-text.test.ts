// Token texts of characters outside ASCII: a character that the tokenizer splits into byte tokens is shown whole
// on the token that completes it, never as U+FFFD halves (the lens's token view, the JSONL and CSV exports).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EngineClient } from '../../extension/engine/client';
import { MOE, collect, greedy, newEngine } from './helpers';

let engine: EngineClient;
beforeAll(async () => {
  engine = newEngine();
  await engine.load({ modelPath: MOE, threads: 1, contextSize: 256 });
}, 120_000);
afterAll(() => engine?.dispose());

it('a multi-byte character split over byte tokens renders whole on one token', async () => {
  const prompt = 'lines 1–6 — café ✓';
  const run = await collect(engine, { input: { kind: 'text', text: prompt }, sampling: greedy(4), captureRouting: true });
  const prompts = run.tokens.filter((t) => t.phase === 'prompt').slice(1); // after BOS
  expect(prompts.some((t) => t.text.includes('\uFFFD'))).toBe(false);
  // The byte tokens of "–" (3 bytes): the first two carry nothing, the third the whole character.
  const dash = prompts.findIndex((t) => t.text.includes('–'));
  expect(dash).toBeGreaterThan(1);
  expect(prompts[dash].text).toBe('–');
  expect(prompts[dash - 1].text).toBe('');
  expect(prompts[dash - 2].text).toBe('');
  // Joined, the token texts are the prompt (SentencePiece adds the leading space).
  expect(prompts.map((t) => t.text).join('')).toBe(' ' + prompt);
  expect(run.tokens.every((t) => !t.text.includes('\uFFFD'))).toBe(true);
});
