// `@moe` in VS Code's chat, and the wiring of MoE Lens into VS Code's chat: the language-model provider, the lens tab
// of its requests and their commands. `@moe` answers with the MoE Lens model (through the provider, so every answer
// is recorded with its routing); /lens opens the lens on its last answer, /summarize summarizes the editor's
// selection, /experts says which experts the last answer used most per layer.
import * as vscode from 'vscode';
import type { Engine, ModelInfo } from '../engine/types';
import type { ModelSession } from '../chat/session';
import type { GenerationRunner } from '../chat/generation';
import type { ChatSettings } from '../chat/controller';
import type { Log } from '../chat/events';
import { describeError } from '../messages';
import { isAbort } from '../engine/errors';
import { resolveSampling } from '../engine/sampling';
import { promptBudget } from '../chat/context';
import { buildSummarizePrompt } from '../chat/summarize';
import { LmRequestLog, expertsMarkdown, type LmMessage, type LmRequestRecord } from '../chat/lm-messages';
import { MoeLensLmProvider, registerLmProvider } from './lm-provider';
import { LmRequestsLens } from './lm-requests';
import { CONFIG_SECTION, affectsModel } from './config';

export const PARTICIPANT_ID = 'moe-lens.moe';
/** How `@moe`'s requests are named in the requests list. */
const PARTICIPANT_CALLER = '@moe';

export interface VsCodeChatDeps {
  extensionUri: vscode.Uri;
  engine: Engine;
  session: ModelSession;
  runner: GenerationRunner;
  settings: () => ChatSettings;
  inspect: () => Promise<ModelInfo>;
  log: Log;
}

/** Registers the provider, `@moe` and the requests commands; everything returned is disposed with the extension. */
export function registerVsCodeChat(deps: VsCodeChatDeps): vscode.Disposable[] {
  const requests = new LmRequestLog();
  const lens = new LmRequestsLens(deps.extensionUri, requests, deps.session, () => deps.settings().captureRouting, deps.log);
  const provider = new MoeLensLmProvider({ ...deps, requests, onRecorded: () => lens.refresh() });
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, (request, context, stream, token) => answer({ provider, requests, lens, deps }, request, context, stream, token));
  participant.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'moe-lens.svg');
  return [
    lens,
    provider,
    registerLmProvider(provider),
    participant,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(CONFIG_SECTION) && affectsModel((s) => e.affectsConfiguration(s))) provider.modelChanged();
    }),
    vscode.commands.registerCommand('moeLens.showChatRequests', async (turnId?: unknown) => {
      if (typeof turnId === 'string') {
        if (!lens.show(turnId)) void vscode.window.showWarningMessage('MoE Lens: that request is no longer kept.');
        return;
      }
      await lens.pick();
    }),
  ];
}

interface Parts {
  provider: MoeLensLmProvider;
  requests: LmRequestLog;
  lens: LmRequestsLens;
  deps: VsCodeChatDeps;
}

/** `@moe`'s answers and commands. Errors are said in the chat; nothing is thrown at VS Code. */
async function answer(p: Parts, request: vscode.ChatRequest, context: vscode.ChatContext, stream: vscode.ChatResponseStream, token: vscode.CancellationToken): Promise<vscode.ChatResult> {
  const last = lastParticipantRecord(p.requests);
  const openButton = (record: LmRequestRecord) => stream.button({ command: 'moeLens.showChatRequests', title: 'Open in the lens', arguments: [record.assistant.id] });
  try {
    switch (request.command) {
      case 'lens':
        if (!last || !p.lens.show(last.assistant.id)) stream.markdown('There is no `@moe` answer to show yet: ask `@moe` something first.');
        else stream.markdown('The lens shows the last answer in an editor tab.');
        return {};
      case 'experts': {
        if (!last) {
          stream.markdown('There is no `@moe` answer yet: ask `@moe` something, then `/experts` explains its routing.');
          return {};
        }
        const routing = p.deps.session.info?.routing;
        stream.markdown(routing ? expertsMarkdown(last.assistant.routing, routing.moeLayers, routing.experts) : 'The model is not loaded, so its layers are not known.');
        openButton(last);
        return {};
      }
      case 'summarize':
        return await summarize(p, stream, token, openButton);
      default: {
        const messages = [...historyMessages(context), { role: 'user' as const, text: request.prompt }];
        const { record } = await p.provider.serve(messages, undefined, PARTICIPANT_CALLER, (text) => stream.markdown(text), token);
        openButton(record);
        return {};
      }
    }
  } catch (error) {
    if (isAbort(error)) return {};
    return { errorDetails: { message: describeError(error) } };
  }
}

async function summarize(p: Parts, stream: vscode.ChatResponseStream, token: vscode.CancellationToken, openButton: (r: LmRequestRecord) => void): Promise<vscode.ChatResult> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    stream.markdown('Select some code in an editor first, then ask `@moe /summarize`.');
    return {};
  }
  const doc = editor.document;
  const selection = { fileName: doc.isUntitled ? doc.uri.path : doc.fileName, languageId: doc.languageId, code: doc.getText(editor.selection), startLine: editor.selection.start.line + 1 };
  stream.progress('Loading the model…');
  const abort = new AbortController();
  const sub = token.onCancellationRequested(() => abort.abort());
  try {
    // The same prompt as the sidebar's Summarize Selection, cut to the loaded model's context.
    const info = await p.deps.session.ensureLoaded(abort.signal);
    const s = p.deps.settings();
    const budget = promptBudget(info.contextSize, resolveSampling(s.sampling, info).maxTokens);
    const prompt = await buildSummarizePrompt(selection, undefined, budget, p.deps.runner.countTokens, info.continuesText ? { modelLabel: info.name } : undefined);
    stream.markdown(`**${prompt.display}**${prompt.notes.map((n) => `\n\n_${n}_`).join('')}\n\n`);
    const { record } = await p.provider.serve([{ role: 'user', text: prompt.content }], undefined, PARTICIPANT_CALLER, (text) => stream.markdown(text), token);
    openButton(record);
    return {};
  } finally {
    sub.dispose();
  }
}

/** `@moe`'s earlier turns of this chat as messages (other participants' turns are not ours to repeat). */
function historyMessages(context: vscode.ChatContext): LmMessage[] {
  const out: LmMessage[] = [];
  for (const turn of context.history) {
    if (turn.participant !== PARTICIPANT_ID || turn.command) continue;
    if (turn instanceof vscode.ChatRequestTurn) out.push({ role: 'user', text: turn.prompt });
    else if (turn instanceof vscode.ChatResponseTurn) {
      const text = turn.response.map((part) => (part instanceof vscode.ChatResponseMarkdownPart ? part.value.value : '')).join('');
      if (text) out.push({ role: 'assistant', text });
    }
  }
  return out;
}

function lastParticipantRecord(requests: LmRequestLog): LmRequestRecord | undefined {
  const list = requests.list().filter((s) => s.caller === PARTICIPANT_CALLER);
  const id = list[list.length - 1]?.id;
  return id ? requests.get(id) : undefined;
}
