// Prefix reuse on memory that cannot simply drop a suffix. Hybrid memory (qwen35moe: gated delta-net layers with
// recurrent state beside attention layers): llama.cpp cannot roll recurrent state back, so the engine keeps a
// cached prefix only when the new prompt extends exactly what was evaluated, and evaluates afresh otherwise.
// Sliding-window attention (gpt-oss): its cache overwrites positions older than the window, so a kept prefix
// must still hold the window before the new tokens. Every turn on the reusing engine must give the tokens and
// routing that a second engine gives evaluating the whole conversation from scratch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../extension/engine/local-engine';
import type { ChatMessage, GenerateInput, LocalLoadOptions } from '../../extension/engine/types';
import { collect, fixture, greedy, QWEN35, type Collected } from './helpers';

const load = { modelPath: QWEN35, threads: 1, contextSize: 512 };
// Routing weights of the reused run against the fresh one: the same computation, except that the reused run
// evaluates the new tokens in a smaller batch (other matmul blocking, other delta-net chunks): float rounding only
// (up to 1e-5 seen; 4 digits allow 5e-5).
const WEIGHT_DIGITS = 4;

/** Two engines on one model: `reusing` keeps its cache between turns, `scratch` evaluates every turn afresh. */
function pair(options: LocalLoadOptions) {
  const engines = { reusing: new LocalEngine(), scratch: new LocalEngine() };
  beforeAll(async () => {
    await engines.reusing.load(options);
    await engines.scratch.load(options);
  }, 120_000);
  afterAll(async () => {
    await engines.reusing.dispose();
    await engines.scratch.dispose();
  });
  /** One turn on both engines; checks the reusing engine against the from-scratch one and returns both. */
  async function turn(input: GenerateInput, maxTokens = 8): Promise<{ reused: Collected; fresh: Collected }> {
    const { reusing, scratch } = engines;
    const reused = await collect(reusing, { input, sampling: greedy(maxTokens) });
    const fresh = await collect(scratch, { input, sampling: greedy(maxTokens), reuseCache: false });
    expect(fresh.tokens.map((t) => t.index)).toEqual(fresh.tokens.map((_, i) => i));
    expect(reused.result.promptTokens).toBe(fresh.result.promptTokens);
    expect(reused.result.generatedTokens).toBe(fresh.result.generatedTokens);
    expect(reused.result.text).toBe(fresh.result.text);
    // Whatever the reusing engine evaluated now (a suffix of the prompt, or all of it) matches the fresh run.
    const first = reused.tokens[0].index;
    expect(reused.tokens.map((t) => t.index)).toEqual(fresh.tokens.slice(first).map((t) => t.index));
    for (const t of reused.tokens) {
      const f = fresh.tokens[t.index];
      expect(t.phase).toBe(f.phase);
      expect(t.id).toBe(f.id);
      expect(t.experts).toEqual(f.experts);
      t.weights.forEach((w, l) => w.forEach((x, r) => expect(x).toBeCloseTo(f.weights[l][r], WEIGHT_DIGITS)));
      expect(t.experts).toHaveLength(4);
    }
    return { reused, fresh };
  }
  return { engines, turn };
}

describe('prefix reuse on hybrid recurrent memory (qwen35moe)', () => {
  const { engines, turn } = pair(load);
  const tokenize = (text: string) => engines.reusing.tokenize(text);

  it('a three-turn chat: every turn as if the whole conversation were evaluated from scratch', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'What does the router do?' }];
    const one = await turn({ kind: 'chat', messages });
    expect(one.reused.tokens[0].index).toBe(0);
    messages.push({ role: 'assistant', content: one.reused.result.text }, { role: 'user', content: 'And the experts?' });
    await turn({ kind: 'chat', messages });
    messages.push({ role: 'assistant', content: one.reused.result.text }, { role: 'user', content: 'Once more, with code.' });
    await turn({ kind: 'chat', messages });
  });

  it('reuses the evaluated sequence when the prompt extends it, and evaluates afresh when it diverges', async () => {
    const start = await tokenize('The function returns the value of the expert');
    const one = await turn({ kind: 'tokens', ids: start });
    const evaluated = [...start, ...one.reused.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)];
    // Turn two extends every token evaluated so far (the prompt and all generated tokens): only the new ones run.
    const two = await turn({ kind: 'tokens', ids: [...evaluated, ...(await tokenize(' router layer'))] });
    expect(two.reused.tokens[0].index).toBe(evaluated.length);
    // Turn three keeps only part of it (an edited message): recurrent state cannot be rolled back, so all of it runs.
    const three = await turn({ kind: 'tokens', ids: [...start.slice(0, -2), ...(await tokenize(' weights'))] });
    expect(three.reused.tokens[0].index).toBe(0);
    // The same prompt again (nothing new to evaluate) cannot drop its last token either: evaluated afresh.
    const again = await turn({ kind: 'tokens', ids: [...start.slice(0, -2), ...(await tokenize(' weights'))] });
    expect(again.reused.tokens[0].index).toBe(0);
  });

  it('after a turn stopped during its prompt, the retried turn is evaluated correctly', async () => {
    const start = await tokenize('Name the experts of the router');
    const one = await turn({ kind: 'tokens', ids: start });
    const evaluated = [...start, ...one.reused.tokens.filter((t) => t.phase === 'generated').map((t) => t.id)];
    const next: GenerateInput = { kind: 'tokens', ids: [...evaluated, ...(await tokenize(' which layer routes code'.repeat(40)))] };
    // Stopped as it starts (a long new prompt, so as a rule during its first decode): llama.cpp cannot take the
    // half-evaluated batch out of recurrent state, so the memory no longer matches the evaluated tokens and must
    // not be continued. (The worker may get further before the Stop arrives; the retry must be right either way.)
    const controller = new AbortController();
    const stopped = engines.reusing.generate({ input: next, sampling: greedy(400) }, { signal: controller.signal });
    controller.abort();
    expect((await stopped).stopReason).toBe('aborted');
    const retried = await turn(next);
    expect(retried.reused.tokens[0].index).toBe(0);
  });
});

describe('prefix reuse on a sliding-window cache (gpt-oss, window 8)', () => {
  // llama.cpp's default context (swa_full) gives the sliding-window layers a full-size cache, so a kept prefix
  // always holds the window before an edit; the engine would evaluate afresh if a smaller cache had overwritten it.
  // Flash attention off and an f32 cache: the reused and the fresh run then differ by matmul rounding only (with
  // llama.cpp's defaults, f16 K/V and flash attention's batch-size dependent kernels move weights by ~1e-4).
  const { turn } = pair({ modelPath: fixture('moe-gptoss.gguf'), threads: 1, contextSize: 2048, flashAttention: false, kvCache: 'f32' });
  const ids = (n: number, salt: number) => [1, ...Array.from({ length: n - 1 }, (_, i) => 300 + ((i * 37 + salt) % 700))];

  it.each([
    ['far back in a long conversation', 1000, 100],
    ['near its end', 600, 590],
  ])('an edit %s keeps the prefix before it, with the same tokens and routing', async (_where, length, keep) => {
    const long = ids(length, keep);
    await turn({ kind: 'tokens', ids: long }, 2);
    const edited = await turn({ kind: 'tokens', ids: [...long.slice(0, keep), ...ids(21, 5).slice(1)] }, 4);
    expect(edited.reused.tokens[0].index).toBe(keep);
  });
});
