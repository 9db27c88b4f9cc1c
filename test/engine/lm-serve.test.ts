// VS Code chat's requests and `@moe` on the real engine and the committed demo model: a greedy request streams what
// the engine generates greedily for the same chat, is recorded with its routing, is refused while another answer
// runs (the sidebar's runner is shared), stops when cancelled; `@moe`'s /experts, /lens and /summarize.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LM_BUSY, LmRequestLog } from '../../extension/chat/lm-messages';
import { LmServer, PARTICIPANT_CALLER, participantReply, type ParticipantOutput } from '../../extension/chat/lm-serve';
import { isEngineError } from '../../extension/engine/errors';
import type { LmRequestRecord } from '../../extension/chat/lm-messages';
import { ROOT, collect, greedy } from './helpers';
import { lmServerOn, Token } from './lm-server-fixture';

const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');

function output() {
  const out = { text: '', progress: [] as string[], buttons: [] as LmRequestRecord[] };
  const sink: ParticipantOutput = { markdown: (t) => (out.text += t), progress: (t) => out.progress.push(t), openButton: (r) => out.buttons.push(r) };
  return { out, sink };
}

describe('VS Code chat requests on the demo model', () => {
  const recorded: string[] = [];
  const { engine, runner, requests, server } = lmServerOn({ modelPath: DEMO, threads: 1 }, true, (r) => recorded.push(r.assistant.status));

  it('a greedy request streams the engine’s greedy answer to the same chat and is recorded with its routing', async () => {
    let streamed = '';
    const { record, stopped } = await server.serve([{ role: 'user', text: 'The river' }], { temperature: 0, max_tokens: 16, repeatPenalty: 1 }, 'ext.caller', (t) => (streamed += t), new Token());
    const reference = await collect(engine, { input: { kind: 'chat', messages: [{ role: 'user', content: 'The river' }] }, sampling: greedy(16), captureRouting: false });
    expect(stopped).toBe(false);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed).toBe(reference.text);
    expect(record.assistant.content).toBe(reference.text);
    const tokens = (r: LmRequestRecord['user']) => r.routing.reduce((n, b) => n + b.ids.length, 0);
    expect(tokens(record.user)).toBe(record.assistant.stats!.promptTokens);
    expect(tokens(record.assistant)).toBe(16);
    expect(requests.list().at(-1)).toMatchObject({ caller: 'ext.caller', generatedTokens: 16, status: 'complete' });
    expect(recorded.slice(-2)).toEqual(['streaming', 'complete']);
  });

  it('a second request while one runs is refused in words; a cancelled one stops early and frees the runner', async () => {
    const token = new Token();
    let first = true;
    const long = server.serve([{ role: 'user', text: 'Once upon a time' }], { temperature: 0, maxTokens: 200 }, 'ext.long', () => {
      if (!first) return;
      first = false;
      token.cancel();
    }, token);
    let refused: unknown;
    await server.serve([{ role: 'user', text: 'Hi' }], undefined, 'ext.other', () => {}, new Token()).catch((e: unknown) => (refused = e));
    expect(isEngineError(refused, 'busy')).toBe(true);
    expect((refused as Error).message).toBe(LM_BUSY);
    const { record, stopped } = await long;
    expect(stopped).toBe(true);
    expect(record.assistant.status).toBe('stopped');
    expect(record.assistant.stats!.generatedTokens).toBeLessThan(200);
    expect(runner.busyMessage).toBeUndefined();
  });

  it('@moe answers and records; /experts explains its routing per layer; /lens opens it; /summarize needs a selection', async () => {
    const opened: string[] = [];
    const editor: { selection?: { fileName: string; languageId: string; code: string; startLine: number } } = {};
    const env = { selection: () => editor.selection, openLens: (id: string) => (opened.push(id), true) };

    const none = output();
    expect(await participantReply(new LmServer({ ...server.deps, requests: new LmRequestLog() }), env, { command: 'experts', prompt: '', history: [] }, none.sink, new Token())).toBeUndefined();
    expect(none.out.text).toMatch(/no `@moe` answer yet/);

    const asked = output();
    expect(await participantReply(server, env, { prompt: 'The river', history: [] }, asked.sink, new Token())).toBeUndefined();
    expect(asked.out.text.length).toBeGreaterThan(0);
    const answer = asked.out.buttons[0];
    expect(answer.caller).toBe(PARTICIPANT_CALLER);
    expect(answer.assistant.content).toBe(asked.out.text);

    const experts = output();
    await participantReply(server, env, { command: 'experts', prompt: '', history: [] }, experts.sink, new Token());
    // One row per MoE layer of the demo (6), each naming its most used experts.
    expect(experts.out.text.match(/^\| \d+ \| #\d/gm)).toHaveLength(6);
    expect(experts.out.buttons[0]).toBe(answer);

    const lens = output();
    await participantReply(server, env, { command: 'lens', prompt: '', history: [] }, lens.sink, new Token());
    expect(opened).toEqual([answer.assistant.id]);

    const noSelection = output();
    await participantReply(server, env, { command: 'summarize', prompt: '', history: [] }, noSelection.sink, new Token());
    expect(noSelection.out.text).toMatch(/Select some code/);

    editor.selection = { fileName: '/w/a.ts', languageId: 'typescript', code: 'export const add = (a: number, b: number) => a + b;\n', startLine: 3 };
    const summary = output();
    expect(await participantReply(server, env, { command: 'summarize', prompt: '', history: [] }, summary.sink, new Token())).toBeUndefined();
    expect(summary.out.text).toMatch(/^\*\*.*a\.ts.*\*\*/);
    expect(summary.out.buttons[0].user.content).toContain('export const add');
  }, 60_000);
});
