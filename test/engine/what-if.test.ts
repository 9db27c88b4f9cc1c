// The lens's what-if on real llama.cpp through the chat controller (and its generation runner): the answer is
// regenerated with the same seed without its most used expert, and that expert is chosen by no generated token in
// any layer; forcing one expert in a layer gives that expert to every generated token there.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChatController } from '../../extension/chat/controller';
import { ModelSession } from '../../extension/chat/session';
import type { EngineClient } from '../../extension/engine/client';
import type { RoutingBlock } from '../../extension/protocol';
import { MOE, newEngine } from './helpers';

let engine: EngineClient;
beforeAll(() => {
  engine = newEngine();
});
afterAll(() => engine?.dispose());

/** Per token and layer, the top-k experts of generated routing blocks. */
function choices(blocks: readonly RoutingBlock[]): number[][][] {
  return blocks.flatMap((b) => Array.from({ length: b.ids.length }, (_, t) => Array.from({ length: b.layers }, (_, l) => Array.from(b.experts.slice((t * b.layers + l) * b.k, (t * b.layers + l + 1) * b.k)))));
}

it('without the answer\'s busiest expert: no generated token chooses it; forcing an expert: every token has it', async () => {
  const session = new ModelSession(engine, async () => ({ options: { modelPath: MOE, threads: 1, contextSize: 512 }, isDemo: false }));
  const controller = new ChatController({ engine, session, settings: () => ({ systemPrompt: '', sampling: { temperature: 0.8, seed: 3, maxTokens: 16, repeatPenalty: 1 }, captureRouting: true }), post: () => {} });
  await controller.send('Which experts answer this?');
  const answer = controller.conversation[1];
  expect(answer.status).toBe('complete');
  const original = choices(answer.routing.filter((b) => b.phase === 'generated'));
  expect(original.length).toBeGreaterThan(4);
  const counts = new Map<number, number>();
  for (const token of original) for (const layer of token) for (const e of layer) counts.set(e, (counts.get(e) ?? 0) + 1);
  const busiest = [...counts].sort((a, b) => b[1] - a[1])[0][0];

  const ablated = (await controller.whatIf(answer.id, 0, busiest, 'ablate-all'))!;
  expect(ablated.status, ablated.error).toBe('complete');
  const variant = choices(ablated.variant!.routing);
  expect(variant.length).toBeGreaterThan(0);
  expect(variant.flat(2).filter((e) => e === busiest)).toEqual([]);

  const forced = (await controller.whatIf(answer.id, 1, busiest, 'force'))!;
  expect(forced.status, forced.error).toBe('complete');
  const layer1 = choices(forced.variant!.routing).map((token) => token[1]);
  expect(layer1.length).toBeGreaterThan(0);
  expect(layer1.every((experts) => experts.includes(busiest))).toBe(true);
  // The conversation is unchanged.
  expect(controller.conversation.map((t) => t.content)).toEqual(['Which experts answer this?', answer.content]);
  await controller.dispose();
});
