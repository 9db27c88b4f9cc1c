// MoE Lens: activate/deactivate — wiring only. Activation starts no engine process and loads no model:
// the engine client forks on first use (the first chat message, Show Model Info, an eval run).
import * as vscode from 'vscode';
import { createAnyEngine } from './engine/any-engine';
import { createLog } from './vscode/log';
import { MoeLensHost } from './vscode/host';
import { createEvalsWiring } from './vscode/evals';

let host: MoeLensHost | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel('MoE Lens', { log: true });
  context.subscriptions.push(channel);
  const log = createLog(channel);
  const enginePath = vscode.Uri.joinPath(context.extensionUri, 'dist', 'engine-process.js').fsPath;
  const createEngine = () => createAnyEngine({ log: (level, message) => log(level, `[engine] ${message}`), enginePath });
  host = new MoeLensHost({ context, channel, log, createEngine, evals: createEvalsWiring(context, log, createEngine) });
  log('info', `MoE Lens ${context.extension.packageJSON.version as string} activated`);
}

export async function deactivate(): Promise<void> {
  const h = host;
  host = undefined;
  await h?.dispose();
}
