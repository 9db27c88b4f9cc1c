// Serving VS Code chat without the vscode module: a request answered on the sidebar chat's generation runner (one
// generation at a time) and recorded with its routing, and `@moe`'s commands. The VS Code adapters
// (vscode/lm-provider.ts, vscode/chat-participant.ts) turn VS Code's types into these and back.
import type { ModelSession } from './session';
import type { GenerationRunner } from './generation';
import type { ChatSettings } from './controller';
import type { Log } from './events';
import { promptBudget } from './context';
import { buildSummarizePrompt, type SelectionInput } from './summarize';
import { EngineError, isAbort, isEngineError } from '../engine/errors';
import { resolveSampling } from '../engine/sampling';
import { describeError } from '../messages';
import type { ToolDefinition } from '../engine/types';
import { LM_BUSY, LmRequestLog, expertsMarkdown, samplingFromModelOptions, toGenerationPrompt, type LmMessage, type LmRequestRecord } from './lm-messages';

/** VS Code's CancellationToken, as far as serving needs it. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface LmServerDeps {
  session: ModelSession;
  /** The sidebar chat's runner: a request is refused while it generates. */
  runner: GenerationRunner;
  settings: () => ChatSettings;
  requests: LmRequestLog;
  /** A request was recorded or finished (an open requests lens refreshes). */
  onRecorded?: (record: LmRequestRecord) => void;
  log?: Log;
}

export interface ServedRequest {
  record: LmRequestRecord;
  stopped: boolean;
  /** With tools: the answer's text around its calls, and the calls (ids made here, unique per request). */
  text?: string;
  toolCalls?: { callId: string; name: string; input: Record<string, unknown> }[];
}

/** Tools a caller offers, and whether the model must call one. */
export interface LmTools {
  tools: ToolDefinition[];
  toolMode: 'auto' | 'required';
}

export class LmServer {
  constructor(readonly deps: LmServerDeps) {}

  /**
   * Answers `messages` (the caller's sampling over the user's settings), streaming text to `onText`, and records the
   * request. Throws an `EngineError('busy')` while another answer is generated, and an abort when cancelled before
   * the engine generates; a cancelled generation resolves with `stopped`. With tools nothing streams (a call's
   * syntax is not text for the caller): the answer's text and calls come back whole.
   */
  async serve(messages: readonly LmMessage[], modelOptions: Readonly<Record<string, unknown>> | undefined, caller: string, onText: (text: string) => void, token: Cancellation, tools?: LmTools): Promise<ServedRequest> {
    const { runner, session, requests } = this.deps;
    const log = this.deps.log ?? (() => {});
    const prompt = toGenerationPrompt(messages);
    const s = this.deps.settings();
    const sampling = { ...s.sampling, ...samplingFromModelOptions(modelOptions) };
    if (runner.busyMessage) throw new EngineError('busy', LM_BUSY);
    if (token.isCancellationRequested) throw new EngineError('aborted', 'Cancelled.');
    const question = prompt.message.role === 'user' ? prompt.message : [...prompt.history].reverse().find((m) => m.role === 'user');
    const record = requests.start(caller, question?.content ?? '');
    const offered = tools?.tools.length ? tools : undefined;
    this.deps.onRecorded?.(record);
    // run() takes the runner synchronously: from here until it settles, the runner's generation is this request's.
    const running = runner.run({
      prompt: () => prompt,
      sampling,
      captureRouting: s.captureRouting,
      ...(offered ? { tools: offered } : {}),
      onFrame: (frame) => {
        LmRequestLog.addFrame(record, frame);
        if (!offered && frame.phase !== 'prompt' && frame.textDelta) onText(frame.textDelta);
      },
    });
    const cancel = token.onCancellationRequested(() => runner.stop());
    try {
      const { result, stopped } = await running;
      const { promptTokens, generatedTokens, promptTokensPerSecond, generatedTokensPerSecond, timeToFirstTokenMs, stopReason } = result;
      LmRequestLog.finish(record, stopped ? 'stopped' : 'complete', { promptTokens, generatedTokens, promptTokensPerSecond, generatedTokensPerSecond, timeToFirstTokenMs, stopReason }, result.text);
      session.clearError();
      log('info', `VS Code chat: answered ${caller} (${promptTokens} prompt, ${generatedTokens} generated tokens, ${stopReason})`);
      if (!offered) return { record, stopped };
      const toolCalls = (result.toolCalls ?? []).map((c, i) => ({ callId: `${record.id}c${i}`, ...c }));
      if (result.text) onText(result.text);
      return { record, stopped, text: result.text, toolCalls };
    } catch (error) {
      if (isAbort(error)) LmRequestLog.finish(record, 'stopped', undefined);
      else {
        LmRequestLog.fail(record, describeError(error));
        if (isEngineError(error, 'engine-crashed')) session.markCrashed(describeError(error));
        log('error', `VS Code chat: ${caller}'s request failed: ${describeError(error)}`);
      }
      throw error;
    } finally {
      cancel.dispose();
      this.deps.onRecorded?.(record);
    }
  }
}

/** How `@moe`'s requests are named in the requests list. */
export const PARTICIPANT_CALLER = '@moe';

/** Where `@moe` writes: VS Code's chat response stream, in its terms. */
export interface ParticipantOutput {
  markdown(text: string): void;
  progress(text: string): void;
  /** A button that opens the lens on this request. */
  openButton(record: LmRequestRecord): void;
}

export interface ParticipantRequest {
  command?: string;
  prompt: string;
  /** `@moe`'s earlier turns in this chat. */
  history: LmMessage[];
}

export interface ParticipantEnv {
  /** The editor's selection, for /summarize (undefined when nothing is selected). */
  selection(): SelectionInput | undefined;
  /** Opens the requests lens on an answer; false when it is no longer kept. */
  openLens(turnId: string): boolean;
}

/**
 * `@moe`: answers with the MoE Lens model; /lens opens the lens on its last answer, /summarize summarizes the
 * editor's selection, /experts says from the recorded routing which experts the last answer used most per layer.
 * Returns an error message for the chat (nothing thrown), undefined when all went well or it was cancelled.
 */
export async function participantReply(server: LmServer, env: ParticipantEnv, request: ParticipantRequest, out: ParticipantOutput, token: Cancellation): Promise<string | undefined> {
  const { requests, session } = server.deps;
  const list = requests.list().filter((s) => s.caller === PARTICIPANT_CALLER);
  const last = list.length ? requests.get(list[list.length - 1].id) : undefined;
  const stream = (text: string) => out.markdown(text);
  try {
    switch (request.command) {
      case 'lens':
        if (!last || !env.openLens(last.assistant.id)) out.markdown('There is no `@moe` answer to show yet: ask `@moe` something first.');
        else out.markdown('The lens shows the last answer in an editor tab.');
        return undefined;
      case 'experts': {
        if (!last) {
          out.markdown('There is no `@moe` answer yet: ask `@moe` something, then `/experts` explains its routing.');
          return undefined;
        }
        const routing = session.info?.routing;
        out.markdown(routing ? expertsMarkdown(last.assistant.routing, routing.moeLayers, routing.experts) : 'The model is not loaded, so its layers are not known.');
        out.openButton(last);
        return undefined;
      }
      case 'summarize': {
        const selection = env.selection();
        if (!selection) {
          out.markdown('Select some code in an editor first, then ask `@moe /summarize`.');
          return undefined;
        }
        out.progress('Loading the model…');
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        let content: string;
        try {
          // The sidebar's Summarize Selection prompt, cut to the loaded model's context.
          const info = await session.ensureLoaded(abort.signal);
          const budget = promptBudget(info.contextSize, resolveSampling(server.deps.settings().sampling, info).maxTokens);
          const prompt = await buildSummarizePrompt(selection, undefined, budget, server.deps.runner.countTokens, info.continuesText ? { modelLabel: info.name } : undefined);
          out.markdown(`**${prompt.display}**${prompt.notes.map((n) => `\n\n_${n}_`).join('')}\n\n`);
          content = prompt.content;
        } finally {
          sub.dispose();
        }
        const { record } = await server.serve([{ role: 'user', text: content }], undefined, PARTICIPANT_CALLER, stream, token);
        out.openButton(record);
        return undefined;
      }
      default: {
        const { record } = await server.serve([...request.history, { role: 'user', text: request.prompt }], undefined, PARTICIPANT_CALLER, stream, token);
        out.openButton(record);
        return undefined;
      }
    }
  } catch (error) {
    return isAbort(error) ? undefined : describeError(error);
  }
}
