// MoE Lens's model in VS Code's own chat and for every extension through `vscode.lm` (vendor `moe-lens`): the model
// the sidebar uses, answered by the sidebar's own generation runner (one generation at a time), every request
// recorded with its routing for the lens. Message conversion and the record live in extension/chat/lm-messages.ts.
import * as vscode from 'vscode';
import type { Engine, ModelInfo } from '../engine/types';
import { isAbort } from '../engine/errors';
import { describeError } from '../messages';
import type { ModelSession } from '../chat/session';
import type { Log } from '../chat/events';
import { LM_VENDOR, lmModelInformation, type LmMessage } from '../chat/lm-messages';
import type { LmServer } from '../chat/lm-serve';

export interface LmProviderDeps {
  engine: Engine;
  session: ModelSession;
  /** Answers on the sidebar chat's runner and records the request. */
  server: LmServer;
  /** The configured model's facts without loading it (the model picker asks at start-up). */
  inspect: () => Promise<ModelInfo>;
  log: Log;
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
    if (options.toolMode === vscode.LanguageModelChatToolMode.Required && options.tools?.length && this.deps.session.info?.remote)
      throw new vscode.LanguageModelError('MoE Lens cannot call tools with a server’s model: tools reach the local model’s chat template only.');
    // VS Code 1.139 names the asking extension (`core` for the chat view); older hosts do not.
    const initiator = (options as { requestInitiator?: unknown }).requestInitiator;
    const caller = typeof initiator === 'string' && initiator ? initiator : 'an extension';
    const tools = options.tools?.length
      ? {
          tools: options.tools.map((t) => ({ name: t.name, description: t.description, ...(t.inputSchema ? { inputSchema: t.inputSchema } : {}) })),
          toolMode: options.toolMode === vscode.LanguageModelChatToolMode.Required ? ('required' as const) : ('auto' as const),
        }
      : undefined;
    try {
      const served = await this.deps.server.serve(messages.map(toLmMessage), options.modelOptions, caller, (text) => progress.report(new vscode.LanguageModelTextPart(text)), token, tools);
      for (const call of served.toolCalls ?? []) progress.report(new vscode.LanguageModelToolCallPart(call.callId, call.name, call.input));
    } catch (error) {
      if (isAbort(error)) return; // cancelled: what streamed is the answer
      throw new vscode.LanguageModelError(describeError(error));
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

/** A caller's message in the engine's terms: its text, its tool calls (assistant) and tool results (user). */
export function toLmMessage(message: vscode.LanguageModelChatRequestMessage): LmMessage {
  const role = message.role === vscode.LanguageModelChatMessageRole.Assistant ? 'assistant' : (message.role as number) === 3 ? 'system' : 'user';
  const out: Required<LmMessage> = { role, text: '', toolCalls: [], toolResults: [] };
  for (const part of message.content) {
    if (part instanceof vscode.LanguageModelTextPart) out.text += part.value;
    else if (part instanceof vscode.LanguageModelToolCallPart) out.toolCalls.push({ callId: part.callId, name: part.name, input: part.input as Record<string, unknown> });
    else if (part instanceof vscode.LanguageModelToolResultPart)
      out.toolResults.push({ callId: part.callId, text: part.content.map((c) => (c instanceof vscode.LanguageModelTextPart ? c.value : '')).join('') });
  }
  return out;
}
