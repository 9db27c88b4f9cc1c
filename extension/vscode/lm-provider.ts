// MoE Lens's model in VS Code's own chat and for every extension through `vscode.lm` (vendor `moe-lens`): the model
// the sidebar uses, answered by the sidebar's own generation runner (one generation at a time), every request
// recorded with its routing for the lens. Message conversion and the record live in extension/chat/lm-messages.ts.
import * as vscode from 'vscode';
import type { Engine, ModelInfo } from '../engine/types';
import { EngineError, isAbort, isEngineError } from '../engine/errors';
import { describeError } from '../messages';
import type { ModelSession } from '../chat/session';
import type { GenerationRunner } from '../chat/generation';
import type { ChatSettings } from '../chat/controller';
import type { Log } from '../chat/events';
import { LM_BUSY, LM_VENDOR, LmRequestLog, lmModelInformation, samplingFromModelOptions, toGenerationPrompt, type LmMessage, type LmRequestRecord } from '../chat/lm-messages';

export interface LmProviderDeps {
  engine: Engine;
  session: ModelSession;
  /** The sidebar chat's runner: a request waits for nothing and is refused while it generates. */
  runner: GenerationRunner;
  settings: () => ChatSettings;
  /** The configured model's facts without loading it (the model picker asks at start-up). */
  inspect: () => Promise<ModelInfo>;
  requests: LmRequestLog;
  /** A request was recorded or finished (the requests lens refreshes). */
  onRecorded: (record: LmRequestRecord) => void;
  log: Log;
}

/** A served request's outcome, for callers inside the extension (the `@moe` participant). */
export interface ServedRequest {
  record: LmRequestRecord;
  stopped: boolean;
}

/** Counts kept per model: `provideTokenCount` is called for every message of every request. */
const TOKEN_COUNT_CACHE = 2000;

export class MoeLensLmProvider implements vscode.LanguageModelChatProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;
  private readonly counts = new Map<string, number>();
  private countsModel: string | undefined;
  private readonly subscription: { dispose(): void };

  constructor(private readonly deps: LmProviderDeps) {
    let last = '';
    // The picker's entry follows the model: a new one loaded, or the settings pointing elsewhere.
    this.subscription = deps.session.onDidChange(() => {
      const key = deps.session.info ? `${deps.session.info.path}|${deps.session.info.contextSize}` : '';
      if (key !== last) {
        last = key;
        this.changed.fire();
      }
    });
  }

  /** The settings changed the model: the picker asks again. */
  modelChanged(): void {
    this.changed.fire();
  }

  async provideLanguageModelChatInformation(): Promise<vscode.LanguageModelChatInformation[]> {
    try {
      const info = this.deps.session.info ?? (await this.deps.inspect());
      return [lmModelInformation(info)];
    } catch (error) {
      this.deps.log('warn', `VS Code chat: the model cannot be offered: ${describeError(error)}`);
      return [];
    }
  }

  async provideLanguageModelChatResponse(
    _model: vscode.LanguageModelChatInformation,
    messages: readonly vscode.LanguageModelChatRequestMessage[],
    options: vscode.ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    if (options.toolMode === vscode.LanguageModelChatToolMode.Required && options.tools?.length)
      throw new vscode.LanguageModelError('MoE Lens cannot call tools: its chat path renders text turns only (the model is offered without tool calling).');
    // VS Code 1.139 names the asking extension (`core` for the chat view); older hosts do not.
    const initiator = (options as { requestInitiator?: unknown }).requestInitiator;
    const caller = typeof initiator === 'string' && initiator ? initiator : 'an extension';
    try {
      await this.serve(messages.map(toLmMessage), options.modelOptions, caller, (text) => progress.report(new vscode.LanguageModelTextPart(text)), token);
    } catch (error) {
      if (isAbort(error)) return; // cancelled: what streamed is the answer
      throw new vscode.LanguageModelError(describeError(error));
    }
  }

  /**
   * Answers `messages` on the sidebar's runner, streaming text to `onText`, and records the request. Throws an
   * `EngineError('busy')` while another answer is generated.
   */
  async serve(messages: readonly LmMessage[], modelOptions: Readonly<Record<string, unknown>> | undefined, caller: string, onText: (text: string) => void, token: vscode.CancellationToken): Promise<ServedRequest> {
    const prompt = toGenerationPrompt(messages);
    const s = this.deps.settings();
    const sampling = { ...s.sampling, ...samplingFromModelOptions(modelOptions) };
    const { runner } = this.deps;
    if (runner.busyMessage) throw new EngineError('busy', LM_BUSY);
    if (token.isCancellationRequested) throw new EngineError('aborted', 'Cancelled.');
    const record = this.deps.requests.start(caller, prompt.message.content);
    this.deps.onRecorded(record);
    // run() takes the runner synchronously: from here until it settles, the runner's generation is this request's.
    const running = runner.run({
      prompt: () => prompt,
      sampling,
      captureRouting: s.captureRouting,
      onFrame: (frame) => {
        LmRequestLog.addFrame(record, frame);
        if (frame.phase !== 'prompt' && frame.textDelta) onText(frame.textDelta);
      },
    });
    const cancel = token.onCancellationRequested(() => runner.stop());
    try {
      const { result, stopped } = await running;
      const { promptTokens, generatedTokens, promptTokensPerSecond, generatedTokensPerSecond, timeToFirstTokenMs, stopReason } = result;
      LmRequestLog.finish(record, stopped ? 'stopped' : 'complete', { promptTokens, generatedTokens, promptTokensPerSecond, generatedTokensPerSecond, timeToFirstTokenMs, stopReason }, result.text);
      this.deps.session.clearError();
      this.deps.log('info', `VS Code chat: answered ${caller} (${promptTokens} prompt, ${generatedTokens} generated tokens, ${stopReason})`);
      return { record, stopped };
    } catch (error) {
      if (isAbort(error)) LmRequestLog.finish(record, 'stopped', undefined);
      else {
        LmRequestLog.fail(record, describeError(error));
        if (isEngineError(error, 'engine-crashed')) this.deps.session.markCrashed(describeError(error));
        this.deps.log('error', `VS Code chat: ${caller}'s request failed: ${describeError(error)}`);
      }
      throw error;
    } finally {
      cancel.dispose();
      this.deps.onRecorded(record);
    }
  }

  async provideTokenCount(_model: vscode.LanguageModelChatInformation, text: string | vscode.LanguageModelChatRequestMessage, token: vscode.CancellationToken): Promise<number> {
    const value = typeof text === 'string' ? text : toLmMessage(text).text;
    if (!value) return 0;
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    try {
      const info = await this.deps.session.ensureLoaded(abort.signal);
      if (this.countsModel !== info.path) {
        this.counts.clear();
        this.countsModel = info.path;
      }
      const cached = this.counts.get(value);
      if (cached !== undefined) return cached;
      // The text's own tokens, as the model's tokenizer splits them (no BOS, no template).
      const count = (await this.deps.engine.tokenize(value)).length;
      if (this.counts.size >= TOKEN_COUNT_CACHE) this.counts.delete(this.counts.keys().next().value as string);
      this.counts.set(value, count);
      return count;
    } catch (error) {
      throw new vscode.LanguageModelError(describeError(error));
    } finally {
      sub.dispose();
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

export function registerLmProvider(provider: MoeLensLmProvider): vscode.Disposable {
  return vscode.lm.registerLanguageModelChatProvider(LM_VENDOR, provider);
}

/** A caller's message as text: text parts as they are; tool calls and results (the model gets no tools) in words. */
export function toLmMessage(message: vscode.LanguageModelChatRequestMessage): LmMessage {
  const role = message.role === vscode.LanguageModelChatMessageRole.Assistant ? 'assistant' : (message.role as number) === 3 ? 'system' : 'user';
  const text = message.content
    .map((part) => {
      if (part instanceof vscode.LanguageModelTextPart) return part.value;
      if (part instanceof vscode.LanguageModelToolCallPart) return `(tool call ${part.name} ${JSON.stringify(part.input)})`;
      if (part instanceof vscode.LanguageModelToolResultPart)
        return `(tool result: ${part.content.map((c) => (c instanceof vscode.LanguageModelTextPart ? c.value : '')).join('')})`;
      return '';
    })
    .join('');
  return { role, text };
}
