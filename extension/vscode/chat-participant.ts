// `@moe` in VS Code's chat, and the wiring of MoE Lens into VS Code's chat: the language-model provider, the lens tab
// of its requests and their command. `@moe`'s logic (answers through the provider's server, so each is recorded
// with its routing; /lens, /summarize, /experts) is vscode-free in chat/lm-serve.ts.
import * as vscode from 'vscode';
import type { Engine, ModelInfo } from '../engine/types';
import type { ModelSession } from '../chat/session';
import type { GenerationRunner } from '../chat/generation';
import type { ChatSettings } from '../chat/controller';
import type { Log } from '../chat/events';
import { LmRequestLog, type LmMessage } from '../chat/lm-messages';
import { LmServer, participantReply } from '../chat/lm-serve';
import { MoeLensLmProvider, registerLmProvider } from './lm-provider';
import { LmRequestsLens } from './lm-requests';
import { CONFIG_SECTION, affectsModel } from './config';

export const PARTICIPANT_ID = 'moe-lens.moe';

export interface VsCodeChatDeps {
  extensionUri: vscode.Uri;
  engine: Engine;
  session: ModelSession;
  runner: GenerationRunner;
  settings: () => ChatSettings;
  inspect: () => Promise<ModelInfo>;
  log: Log;
}

/** Registers the provider, `@moe` and the requests command; everything returned is disposed with the extension. */
export function registerVsCodeChat(deps: VsCodeChatDeps): vscode.Disposable[] {
  const requests = new LmRequestLog();
  const lens = new LmRequestsLens(deps.extensionUri, requests, deps.session, () => deps.settings().captureRouting, deps.log);
  const server = new LmServer({ ...deps, requests, onRecorded: () => lens.refresh() });
  const provider = new MoeLensLmProvider({ ...deps, server });
  const env = { selection: editorSelection, openLens: (turnId: string) => lens.show(turnId) };
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, async (request, context, stream, token) => {
    const out = {
      markdown: (text: string) => stream.markdown(text),
      progress: (text: string) => stream.progress(text),
      openButton: (record: { assistant: { id: string } }) => stream.button({ command: 'moeLens.showChatRequests', title: 'Open in the lens', arguments: [record.assistant.id] }),
    };
    const error = await participantReply(server, env, { command: request.command, prompt: request.prompt, history: historyMessages(context) }, out, token);
    return error ? { errorDetails: { message: error } } : {};
  });
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

function editorSelection() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) return undefined;
  const doc = editor.document;
  return { fileName: doc.isUntitled ? doc.uri.path : doc.fileName, languageId: doc.languageId, code: doc.getText(editor.selection), startLine: editor.selection.start.line + 1 };
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
