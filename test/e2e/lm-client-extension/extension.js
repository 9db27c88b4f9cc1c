// Test-only extension (e2e, dev phase): talks to the MoE Lens model through `vscode.lm` like any other extension
// and writes what it saw to lm-client-result.json in the workspace, for test/e2e/11-vscode-chat.spec.mjs to check.
/* eslint-disable @typescript-eslint/no-require-imports -- VS Code loads this extension as CommonJS */
const vscode = require('vscode');
const fs = require('node:fs');
const path = require('node:path');

/** The request the spec compares with `moe-lens generate --chat`: greedy, a fixed length, no repeat penalty. */
const GREEDY = { prompt: 'The river', modelOptions: { temperature: 0, maxTokens: 24, repeatPenalty: 1 } };
const COUNTED = 'Experts route every token of a mixture.';

async function collect(response, onChunk) {
  let text = '';
  for await (const part of response.stream) {
    if (part instanceof vscode.LanguageModelTextPart) {
      text += part.value;
      onChunk?.(part.value);
    }
  }
  return text;
}

async function run() {
  const out = { ok: false };
  try {
    const models = await vscode.lm.selectChatModels({ vendor: 'moe-lens' });
    out.models = models.map((m) => ({ id: m.id, vendor: m.vendor, name: m.name, family: m.family, maxInputTokens: m.maxInputTokens }));
    const model = models[0];
    if (!model) throw new Error('no model of vendor moe-lens');

    const greedy = await model.sendRequest([vscode.LanguageModelChatMessage.User(GREEDY.prompt)], { modelOptions: GREEDY.modelOptions });
    out.greedy = { ...GREEDY, text: await collect(greedy) };

    out.count = { text: COUNTED, tokens: await model.countTokens(COUNTED) };

    // Cancel a long answer once it streams; the next request must find the model free again.
    const cts = new vscode.CancellationTokenSource();
    let cancelledAt;
    let afterCancel = 0;
    const long = await model.sendRequest([vscode.LanguageModelChatMessage.User('Once upon a time')], { modelOptions: { temperature: 0, maxTokens: 400 } }, cts.token);
    const longText = await collect(long, () => {
      if (cancelledAt === undefined) {
        cancelledAt = Date.now();
        cts.cancel();
      } else afterCancel++;
    }).catch((error) => `(stream ended with ${error?.name}: ${error?.message})`);
    out.cancel = { endedAfterMs: Date.now() - cancelledAt, chunksAfterCancel: afterCancel, text: longText };
    const next = await model.sendRequest([vscode.LanguageModelChatMessage.User('The river')], { modelOptions: { temperature: 0, maxTokens: 4 } });
    out.afterCancel = { text: await collect(next) };
    out.ok = true;
  } catch (error) {
    out.error = `${error?.name ?? 'Error'}: ${error?.message ?? String(error)}`;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) fs.writeFileSync(path.join(folder, 'lm-client-result.json'), JSON.stringify(out, null, 2));
  return out;
}

exports.activate = (context) => {
  context.subscriptions.push(vscode.commands.registerCommand('lmClientTest.run', run));
};
exports.deactivate = () => {};
