import { describe, expect, it, vi } from 'vitest';
import { MAX_PAST_CONVERSATIONS } from '../../../extension/chat/history';
import { ModelSession } from '../../../extension/chat/session';
import { DEMO_MODEL_LABEL } from '../../../extension/engine/demo-model';
import { DEFAULT_SAMPLING, TEXT_CONTINUATION_SAMPLING } from '../../../extension/engine/sampling';
import { EngineError } from '../../../extension/engine/errors';
import type { ChatTurn } from '../../../extension/protocol';
import { formatLoadTarget } from '../../../extension/engine/backends';
import { chatFakeEngine, helloScript, type FakeEngine, frame, result, sleep } from './fake-engine';
import { after, setup, useFakeClock } from './controller-setup';

/** The chat test engine as a model that continues text (the demo's GGUF tag). */
function continuationEngine(contextSize = 256): FakeEngine {
  const engine = chatFakeEngine();
  engine.contextSize = contextSize;
  const info = engine.info.bind(engine);
  engine.info = (o) => ({ ...info(o), continuesText: true });
  return engine;
}

describe('ChatController', () => {
  useFakeClock();

  it('streams an answer: prompt routing on the user turn, generated routing and text on the assistant turn', async () => {
    const t = setup();
    const id = await t.controller.send('hi');
    const [user, assistant] = t.controller.conversation;
    expect(assistant.id).toBe(id);
    expect(assistant.content).toBe('Hello');
    expect(assistant.status).toBe('complete');
    expect(assistant.stats?.generatedTokensPerSecond).toBe(42);
    expect(user.routing.map((b) => [b.phase, b.firstIndex, b.ids.length])).toEqual([['prompt', 0, 3]]);
    // The two generated frames were consecutive: merged into one block.
    expect(assistant.routing.map((b) => [b.phase, b.firstIndex, b.ids.length])).toEqual([['generated', 3, 2]]);
    expect(assistant.routing[0].experts.length).toBe(2 * 2 * 2);
    // The engine got the chat as messages, so the model's own template applies.
    expect(t.engine.requests[0].input).toEqual({ kind: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    const frames = t.posts.filter((m) => m.type === 'chat.frames');
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(3); // batched, not one post per token
    const text = frames.filter((f) => f.turnId === id).map((f) => f.textDelta).join('');
    expect(text).toBe('Hello');
    expect(frames.some((f) => f.turnId === user.id && f.routing[0]?.phase === 'prompt')).toBe(true);
    expect(t.session.state).toBe('ready');
  });

  it('batches many frames on a timer', async () => {
    const t = setup();
    t.engine.script = async (_req, cb) => {
      for (let i = 0; i < 50; i++) cb.onFrame?.(frame('generated', i, [i], 'x'));
      await sleep(30);
      for (let i = 50; i < 100; i++) cb.onFrame?.(frame('generated', i, [i], 'y'));
      return result('x'.repeat(50) + 'y'.repeat(50), 'eos', 0, 100);
    };
    await after(30, t.controller.send('go'));
    const frames = t.posts.filter((m) => m.type === 'chat.frames');
    // One post for the 50 frames before the pause, one for the 50 after it.
    expect(frames.map((f) => f.textDelta)).toEqual(['x'.repeat(50), 'y'.repeat(50)]);
  });

  it('stop aborts the generation and leaves a stopped turn with the partial text', async () => {
    const t = setup();
    t.engine.script = async (_req, cb) => {
      cb.onFrame?.(frame('generated', 0, [1], 'part'));
      await sleep(5000, cb.signal);
      return result('part', cb.signal?.aborted ? 'aborted' : 'eos', 0, 1);
    };
    const p = t.controller.send('long');
    await vi.advanceTimersByTimeAsync(20);
    expect(t.session.state).toBe('generating');
    expect(t.controller.stop()).toBe(true);
    await p;
    const a = t.controller.conversation[1];
    expect(a.status).toBe('stopped');
    expect(a.content).toBe('part');
    expect(t.session.state).toBe('ready');
    expect(t.controller.isBusy).toBe(false);
  });

  it('stop during model load cancels the load, with a note', async () => {
    const engine = chatFakeEngine();
    engine.loadDelayMs = 2000;
    const t = setup({ engine });
    const p = t.controller.send('hi');
    await vi.advanceTimersByTimeAsync(20);
    expect(t.session.state).toBe('loading');
    t.controller.stop();
    await p;
    const a = t.controller.conversation[1];
    expect(a.status).toBe('stopped');
    expect(a.notes?.join(' ')).toMatch(/loading/);
    expect(t.session.state).toBe('idle');
    expect(t.controller.isBusy).toBe(false);
  });

  it('a message sent while busy gets a clear error and can be retried; nothing is lost', async () => {
    const engine = chatFakeEngine();
    engine.loadDelayMs = 100;
    const t = setup({ engine });
    const first = t.controller.send('first');
    await vi.advanceTimersByTimeAsync(10);
    await t.controller.send('second');
    const busy = t.controller.conversation[3];
    expect(t.controller.conversation[2].content).toBe('second');
    expect(busy.status).toBe('error');
    expect(busy.error).toMatch(/loading/);
    await after(100, first);
    await t.controller.retry(busy.id);
    const turns = t.controller.conversation;
    expect(turns.map((x) => x.content)).toEqual(['first', 'Hello', 'second', 'Hello']);
    expect(turns[3].status).toBe('complete');
    // The retried answer saw the whole history.
    expect(t.engine.requests[1].input).toEqual({
      kind: 'chat',
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'second' },
      ],
    });
  });

  it('retry records the prompt routing once: the snapshot it posts carries no stale routing', async () => {
    const tokens = (turns: readonly ChatTurn[]) => turns.map((x) => x.routing.reduce((n, b) => n + b.ids.length, 0));
    // A minimal webview: messages are copied when posted (as postMessage does) and applied like the webview does.
    let view: ChatTurn[] = [];
    const snapshots: number[][] = [];
    const t = setup({
      onPost: (posted) => {
        const m = structuredClone(posted);
        if (m.type === 'snapshot') snapshots.push(tokens((view = m.snapshot.turns)));
        if (m.type === 'chat.turnAdded') view.push(m.turn);
        if (m.type === 'chat.frames') view.find((x) => x.id === m.turnId)?.routing.push(...m.routing);
      },
    });
    const id = await t.controller.send('hi');
    expect(tokens(view)).toEqual([3, 2]);
    await t.controller.retry(id!);
    expect(snapshots).toEqual([[0]]);
    expect(t.controller.conversation[0].routing.map((b) => [b.phase, b.firstIndex, b.ids.length])).toEqual([['prompt', 0, 3]]);
    expect(tokens(t.controller.conversation)).toEqual([3, 2]);
    expect(tokens(view)).toEqual([3, 2]);
  });

  it('engine crash: error on the turn, session marked for reload, retry works', async () => {
    const t = setup();
    await t.controller.send('one');
    t.engine.script = async () => {
      t.engine.model = undefined;
      // The reason comes from the structured details, not from the message text.
      throw new EngineError('engine-crashed', 'the engine process stopped', { signal: 'SIGSEGV', exitCode: null });
    };
    const id = await t.controller.send('two');
    const failed = t.controller.conversation.find((x) => x.id === id)!;
    expect(failed.status).toBe('error');
    expect(failed.error).toBe('The engine process crashed (signal SIGSEGV). Press Retry to start it again; the conversation is kept.');
    expect(failed.errorActions).toEqual(['retry']);
    expect(t.session.state).toBe('error');
    expect(t.controller.isBusy).toBe(false);
    t.engine.script = helloScript;
    const again = await t.controller.retry(id!);
    expect(t.controller.conversation.find((x) => x.id === again)?.status).toBe('complete');
    expect(t.engine.loads.length).toBe(2); // reloaded after the crash
    expect(t.session.state).toBe('ready');
  });

  it('model load failure: clear error, not stuck', async () => {
    const engine = chatFakeEngine();
    engine.failLoad = new EngineError('not-gguf', 'x.bin is not a GGUF file.');
    const t = setup({ engine });
    await t.controller.send('hi');
    const a = t.controller.conversation[1];
    expect(a.status).toBe('error');
    expect(a.error).toBe('x.bin is not a GGUF file.');
    expect(a.errorActions).toEqual(['select-model']); // retrying the same file cannot help
    expect(t.session.summary(true)).toMatchObject({ state: 'error', error: 'x.bin is not a GGUF file.' });
    engine.failLoad = undefined;
    await t.controller.retry(a.id);
    expect(t.controller.conversation[1].status).toBe('complete');
  });

  it("another model selected after a failed load: the old model's error is gone", async () => {
    const engine = chatFakeEngine();
    engine.failLoad = new EngineError('not-gguf', 'x.bin is not a GGUF file.');
    const t = setup({ engine });
    await t.controller.send('hi');
    expect(t.session.summary(true)).toMatchObject({ state: 'error' });
    t.session.invalidate();
    const summary = t.session.summary(true);
    expect(summary.state).toBe('idle');
    expect(summary.error).toBeUndefined();
  });

  it('a generic generate error never leaves the state generating', async () => {
    const t = setup();
    t.engine.script = async () => {
      throw new Error('boom');
    };
    await t.controller.send('x');
    expect(t.controller.conversation[1]).toMatchObject({ status: 'error', error: 'boom', errorActions: ['retry'] });
    expect(t.session.state).toBe('ready');
    expect(t.controller.isBusy).toBe(false);
    const states = t.posts.filter((m) => m.type === 'model.state').map((m) => m.model.state);
    expect(states[states.length - 1]).toBe('ready');
  });

  it('changing the model reloads on next use', async () => {
    let path = '/a.gguf';
    const t = setup({ path: () => path });
    await t.controller.send('1');
    await t.controller.send('2');
    expect(t.engine.loads.length).toBe(1);
    path = '/b.gguf';
    t.session.invalidate();
    await t.controller.send('3');
    expect(t.engine.loads.map((l) => formatLoadTarget(l))).toEqual(['/a.gguf', '/b.gguf']);
  });

  it('trims older turns to fit the context and says so', async () => {
    const engine = chatFakeEngine();
    engine.contextSize = 200; // budget = 200 - min(32, 100) = 168 "tokens" (chars + 4 per message)
    const t = setup({ engine });
    for (let i = 0; i < 4; i++) await t.controller.send(`message ${i} `.padEnd(50, '.'));
    const last = t.controller.conversation[t.controller.conversation.length - 2];
    expect(last.notes?.join(' ')).toMatch(/earlier messages were left out so the conversation fits the 200-token context/);
    const req = t.engine.requests[3].input;
    if (req.kind !== 'chat') throw new Error('chat expected');
    expect(req.messages[0].role).toBe('user');
    expect(req.messages[req.messages.length - 1].content).toMatch(/^message 3/);
    expect(req.messages.reduce((n, m) => n + 4 + m.content.length, 0)).toBeLessThanOrEqual(168);
    expect(req.messages.length).toBeLessThan(7);
  });

  it('a message too long for the context is an error with advice', async () => {
    const engine = chatFakeEngine();
    engine.contextSize = 64;
    const t = setup({ engine });
    await t.controller.send('y'.repeat(500));
    expect(t.controller.conversation[1].status).toBe('error');
    expect(t.controller.conversation[1].error).toMatch(/moeLens.contextSize/);
    expect(t.controller.conversation[1].errorActions).toEqual(['new-chat', 'open-settings']);
  });

  it('summarize: label, prompt with file and language, the cut selection counted once', async () => {
    const engine = chatFakeEngine();
    engine.contextSize = 400;
    const t = setup({ engine });
    // A selection that ends at the start of the next line (its trailing newline is not a line).
    const code = Array.from({ length: 60 }, (_, i) => `const v${i} = ${i};`).join('\r\n') + '\r\n';
    await t.controller.summarize({ fileName: '/w/src/app.ts', languageId: 'typescript', code, startLine: 10 });
    const [user, assistant] = t.controller.conversation;
    const kept = Number(/first (\d+) of 60 lines sent/.exec(user.display)?.[1]);
    expect(user.display).toBe(`Summarize \`app.ts\` lines 10–69 (first ${kept} of 60 lines sent)`);
    expect(kept).toBeGreaterThan(1);
    expect(user.notes).toEqual([`Selection cut to its first ${kept} of 60 lines (lines 10–${10 + kept - 1}) to fit the model's context.`]);
    // The model reads the range in ASCII (no byte tokens for "–"), and only the kept lines.
    expect(user.content).toContain(`(lines 10-${10 + kept - 1}).`);
    expect(user.content).toContain('```typescript');
    expect(user.content).toContain(`const v${kept - 1} = ${kept - 1};`);
    expect(user.content).not.toContain(`const v${kept} = ${kept};`);
    // The chip: the selection's range, and the code that was sent (the same count).
    expect(user.source).toMatchObject({ startLine: 10, endLine: 69 });
    expect(user.source?.code.split('\n').length).toBe(kept);
    expect(assistant.status).toBe('complete');
    expect(t.posts).toContainEqual({ type: 'lens.show', turnId: user.id }); // the lens opens on the code's routing
  });

  it('summarize: a conversation that cannot hold the selection too goes to the history; the summary starts a new one', async () => {
    const engine = chatFakeEngine();
    engine.contextSize = 400;
    const t = setup({ engine });
    t.engine.script = async (req, cb) => {
      const text = 'z'.repeat(120);
      await helloScript(req, cb);
      return result(text, 'eos', 3, 120);
    };
    await t.controller.send('first question');
    const before = t.controller.conversation.map((c) => c.id);
    const code = Array.from({ length: 12 }, (_, i) => `let a${i} = ${i};`).join('\n');
    await t.controller.summarize({ fileName: 'b.js', languageId: 'javascript', code, startLine: 1 });
    const [user, assistant] = t.controller.conversation;
    expect(t.controller.conversation.length).toBe(2);
    expect(user.display).toBe('Summarize `b.js` lines 1–12');
    expect(user.notes).toEqual(['New chat: the conversation before could not hold this selection too; it is kept in the history.']);
    expect(assistant.status).toBe('complete');
    expect(t.history.list().map((c) => c.title)).toEqual(['first question']);
    expect(before).not.toContain(user.id);
    // The summary's prompt held no earlier message.
    expect(t.engine.requests[1].input).toEqual({ kind: 'chat', messages: [{ role: 'user', content: user.content }] });
  });

  it('summarize on a text-continuation model: it says what it does instead, and sends the code alone', async () => {
    const t = setup({ engine: continuationEngine(), isDemo: true });
    await t.controller.summarize({ fileName: 'c.py', languageId: 'python', code: 'x = 1\ny = 2\n', startLine: 3 });
    const [user] = t.controller.conversation;
    expect(user.display).toBe('Summarize `c.py` lines 3–4');
    // Named as everywhere else (the session's label of the model).
    expect(user.notes).toEqual([`${t.session.summary(false).label} cannot summarize: it continues text. It is given the code alone and continues it.`]);
    expect(user.content).toBe('x = 1\ny = 2');
  });

  it('answer length, temperature and stops fit the loaded model where the user set none', async () => {
    const plain = setup({ settings: { sampling: {} } });
    await plain.controller.send('a');
    // An assistant model: a quarter of the 256-token context, the general defaults, no stop.
    expect(plain.engine.requests[0].sampling).toMatchObject({ maxTokens: 64, temperature: DEFAULT_SAMPLING.temperature, stop: [] });

    const demo = setup({ engine: continuationEngine(512), isDemo: true, settings: { sampling: {} } });
    await demo.controller.send('a');
    expect(demo.engine.requests[0].sampling).toMatchObject({ ...TEXT_CONTINUATION_SAMPLING, stop: ['\n\n'] });
    // What the user set wins; an answer length the user set is generated whole (no paragraph stop).
    demo.settings.sampling = { maxTokens: 40, temperature: 0.2 };
    await demo.controller.send('b');
    expect(demo.engine.requests[1].sampling).toMatchObject({ maxTokens: 40, temperature: 0.2, topP: DEFAULT_SAMPLING.topP, stop: [] });
  });

  it('three turns on a 512-token text-continuation model: the third prompt still holds the first turn', async () => {
    const engine = continuationEngine(512);
    // Every answer runs to the answer length it is given (character tokens: one character each).
    engine.script = async (req, cb) => {
      const n = req.sampling?.maxTokens ?? 0;
      cb.onFrame?.(frame('generated', 0, [1], 'w'.repeat(n)));
      return result('w'.repeat(n), 'max-tokens', 10, n);
    };
    const t = setup({ engine, isDemo: true, settings: { sampling: {} } });
    for (const text of ['To install the package', 'def read_config(path):', 'The main purpose']) await t.controller.send(text);
    const third = t.engine.requests[2].input;
    expect(third.kind === 'chat' && third.messages[0]).toEqual({ role: 'user', content: 'To install the package' });
    expect(t.controller.conversation[4].notes ?? []).not.toContainEqual(expect.stringMatching(/left out/));
  });

  it('demo model: known before loading; the first answer carries the demo label', async () => {
    const engine = chatFakeEngine();
    const pending = new ModelSession(engine, async () => ({ options: { modelPath: '/d' }, isDemo: true }), undefined, () => true);
    expect(pending.summary(true)).toMatchObject({ isDemo: true, state: 'idle', label: 'MoE Lens demo' });
    const file = new ModelSession(engine, async () => ({ options: { modelPath: '/m/x.gguf' }, isDemo: false }), undefined, () => false, () => 'x.gguf');
    expect(file.summary(true)).toMatchObject({ isDemo: false, label: 'x.gguf' });
    expect(engine.loads.length).toBe(0);
    const t = setup({ isDemo: true });
    await t.controller.send('a');
    await t.controller.send('b');
    expect(t.controller.conversation[1].notes?.[0]).toContain(DEMO_MODEL_LABEL);
    expect(t.controller.conversation[3].notes).toBeUndefined();
    expect(t.controller.snapshot().model.isDemo).toBe(true);
  });

  it('persists the conversation with routing and restores it (streaming turns come back stopped)', async () => {
    const t = setup();
    await t.controller.send('hi');
    t.engine.script = async (_req, cb) => {
      cb.onFrame?.(frame('generated', 5, [7, 8], 'half'));
      await sleep(10_000, cb.signal);
      return result('half', 'aborted', 0, 2);
    };
    void t.controller.send('again');
    await vi.advanceTimersByTimeAsync(30);
    await t.controller.dispose(); // window reload mid-answer
    const json = JSON.stringify(t.saved);
    expect(json.length).toBeLessThan(5000);
    const r = setup({ stored: JSON.parse(json) });
    const turns = r.controller.conversation;
    expect(turns.map((x) => [x.role, x.content, x.status])).toEqual([
      ['user', 'hi', 'complete'],
      ['assistant', 'Hello', 'complete'],
      ['user', 'again', 'complete'],
      ['assistant', 'half', 'stopped'],
    ]);
    expect(turns[3].notes?.join(' ')).toMatch(/interrupted/);
    const orig = t.controller.conversation[1].routing[0];
    const back = turns[1].routing[0];
    expect(back.experts).toBeInstanceOf(Uint16Array);
    expect(back.weights).toBeInstanceOf(Float32Array);
    expect(back.ids).toBeInstanceOf(Int32Array);
    expect([...back.experts]).toEqual([...orig.experts]);
    expect([...back.weights]).toEqual([...orig.weights]);
    expect([...back.ids]).toEqual([...orig.ids]);
    expect(back.texts).toEqual(orig.texts);
    expect(turns[0].routing[0].phase).toBe('prompt');
    const snap = r.controller.snapshot();
    expect(snap.turns.length).toBe(4);
  });

  it('new chat clears and persists; stop with nothing running is a no-op', async () => {
    const t = setup();
    await t.controller.send('hi');
    expect(t.controller.stop()).toBe(false);
    t.controller.newChat();
    expect(t.controller.conversation.length).toBe(0);
    expect((t.saved as { turns: unknown[] }).turns.length).toBe(0);
    expect(t.posts[t.posts.length - 1].type).toBe('snapshot');
  });

  it('new chat keeps the conversation in the history; opening it brings it back and keeps the open one', async () => {
    const t = setup();
    await t.controller.send('first question about experts');
    const first = t.controller.conversation.map((x) => x.content);
    t.controller.newChat();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.history.list()).toMatchObject([{ title: 'first question about experts', turns: 2 }]);
    await t.controller.send('second');
    expect(await t.controller.openPast(t.history.list()[0].id)).toBe(true);
    expect(t.controller.conversation.map((x) => x.content)).toEqual(first);
    expect(t.controller.conversation[1].routing.length).toBeGreaterThan(0); // the lens still has its routing
    expect(t.history.list().map((c) => c.title)).toEqual(['second']);
    expect(await t.controller.openPast('gone')).toBe(false);
    // An empty conversation is not kept; the history holds at most MAX_PAST_CONVERSATIONS.
    t.controller.newChat();
    t.controller.newChat();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.history.list().map((c) => c.title)).toEqual(['first question about experts', 'second']);
    for (let i = 0; i < MAX_PAST_CONVERSATIONS + 3; i++) await t.history.add([{ id: `u${i}`, role: 'user', display: `q${i}`, content: `q${i}`, status: 'complete', routing: [] }], `c${i}`);
    expect(t.history.list()).toHaveLength(MAX_PAST_CONVERSATIONS);
    expect(t.history.list()[0].title).toBe(`q${MAX_PAST_CONVERSATIONS + 2}`);
  });

  it('a throwing post (webview gone) does not break the turn', async () => {
    const { controller: c, engine } = setup({ settings: { systemPrompt: 'Be brief.', sampling: { maxTokens: 8 }, captureRouting: false }, onPost: () => { throw new Error('disposed'); } });
    await c.send('x');
    expect(c.conversation[1].status).toBe('complete');
    expect(engine.requests[0].captureRouting).toBe(false);
    expect(engine.requests[0].input).toEqual({ kind: 'chat', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'x' }] });
  });
});
