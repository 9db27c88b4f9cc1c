// A three-turn chat through the real engine and chat template: each user turn's prompt tokens are attributed
// exactly — the message's own tokens spell the message, the system prompt and template tokens are marked, and
// a later turn's re-evaluated history is history, never the message.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatController } from '../../extension/chat/controller';
import { ModelSession } from '../../extension/chat/session';
import type { EngineClient } from '../../extension/engine/client';
import type { ChatTurn } from '../../extension/protocol';
import { MOE, newEngine } from './helpers';

let engine: EngineClient;
beforeAll(() => {
  engine = newEngine();
});
afterAll(() => engine?.dispose());

function tokensBy(turn: ChatTurn) {
  const texts = turn.routing.flatMap((b) => b.texts);
  const by: Record<string, string> = { message: '', template: '', system: '', history: '' };
  for (const s of turn.promptSegments ?? []) by[s.role] += texts.slice(s.start, s.end).join('');
  return by;
}

it('three turns: every user turn holds exactly its own message tokens', async () => {
  const session = new ModelSession(engine, async () => ({ options: { modelPath: MOE, threads: 1, contextSize: 512 }, isDemo: false }));
  const controller = new ChatController({
    engine,
    session,
    settings: () => ({ systemPrompt: 'Answer briefly.', sampling: { temperature: 0, maxTokens: 12, repeatPenalty: 1 }, captureRouting: true }),
    post: () => {},
  });
  const messages = ['Which experts answer this?', 'And for lines 1–6 of café.ts?', 'Thanks, one more'];
  for (const m of messages) await controller.send(m);
  const users = controller.conversation.filter((t) => t.role === 'user');
  expect(users).toHaveLength(3);
  users.forEach((u, i) => {
    const by = tokensBy(u);
    expect(by.message.trim()).toBe(messages[i]);
    expect(by.template.length).toBeGreaterThan(0); // [INST] markers, BOS
  });
  // The first turn carries the system prompt; later ones do not (it is reused from the cache, or is history).
  expect(tokensBy(users[0]).system.trim()).toBe('Answer briefly.');
  for (const u of users.slice(1)) expect(tokensBy(u).system).toBe('');
  await controller.dispose();
});
