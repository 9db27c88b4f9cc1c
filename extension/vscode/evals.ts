// Evals wiring: the "Run Long-Summary Eval" command (pick suite, models, variants → cancellable progress) and
// the evals tab's requests, answered from run folders by extension/evals (vscode-free).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Engine, RemoteLoadOptions } from '../engine/types';
import { formatLoadTarget } from '../format';
import type { Log } from '../chat/events';
import { answerEvalsRequest } from '../evals/host';
import type { EvalsResponse } from '../evals/protocol';
import { loadSuite, runEval } from '../evals/index';
import { describeError } from '../chat/session';
import { progressText } from '../evals/progress';
import { loadOptionsFrom, type MoeLensConfig } from './config';
import { demoModelFile } from '../engine/demo-model';
import type { EvalsWiring, MoeLensHost } from './host';

export function createEvalsWiring(context: vscode.ExtensionContext, log: Log, createEngine: () => Engine): EvalsWiring {
  let running: AbortController | undefined;

  const runsDirs = (): string[] => {
    const dirs = [path.join(context.globalStorageUri.fsPath, 'eval-runs')];
    for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') dirs.unshift(path.join(f.uri.fsPath, 'eval-runs'));
    return dirs;
  };

  const outputRoot = (): string => runsDirs()[0];

  async function pickSuite(): Promise<string | undefined> {
    const builtin = vscode.Uri.joinPath(context.extensionUri, 'suites', 'builtin', 'suite.yaml').fsPath;
    type Item = vscode.QuickPickItem & { file?: string; browse?: boolean };
    const items: Item[] = [];
    if (fs.existsSync(builtin)) items.push({ label: '$(library) Built-in long-summary suite', description: 'suites/builtin/suite.yaml', file: builtin });
    const found = await vscode.workspace.findFiles('**/{suite,*.suite}.{yaml,yml}', '**/node_modules/**', 20);
    for (const uri of found) if (uri.fsPath !== builtin) items.push({ label: `$(file) ${vscode.workspace.asRelativePath(uri)}`, file: uri.fsPath });
    items.push({ label: '$(folder-opened) Browse for a suite file…', browse: true });
    const choice = await vscode.window.showQuickPick(items, { title: 'Run Long-Summary Eval (1/3): suite', ignoreFocusOut: true });
    if (!choice) return undefined;
    if (choice.file) return choice.file;
    const uris = await vscode.window.showOpenDialog({ title: 'Eval suite', canSelectMany: false, filters: { 'Suite (YAML)': ['yaml', 'yml'] } });
    return uris?.[0]?.fsPath;
  }

  async function pickModels(host: MoeLensHost, config: MoeLensConfig, server: RemoteLoadOptions | undefined): Promise<string[] | undefined> {
    const recent = host.picker.recent().filter((p) => fs.existsSync(p));
    type Item = vscode.QuickPickItem & { path: string };
    const seen = new Set<string>();
    const items: Item[] = [];
    const add = (p: string, label: string, picked: boolean, description?: string) => {
      if (seen.has(p)) return;
      seen.add(p);
      items.push({ label, description, path: p, picked });
    };
    if (server) add(formatLoadTarget(server), `${config.serverModel || 'first model'} on ${server.endpoint}`, true, `current chat server (${config.serverConcurrency} requests at once)`);
    if (config.modelPath) add(config.modelPath, path.basename(config.modelPath), !server, 'current chat model');
    for (const p of recent) add(p, path.basename(p), false, path.dirname(p));
    add('', 'Built-in demo model', !config.modelPath && !server, 'trained here: continues prose and code');
    const chosen = await vscode.window.showQuickPick(items, { title: 'Run Long-Summary Eval (2/3): models', canPickMany: true, ignoreFocusOut: true });
    if (!chosen?.length) return undefined;
    const out: string[] = [];
    for (const c of chosen) out.push(c.path || demoModelFile());
    return out;
  }

  async function runEvalCommand(host: MoeLensHost): Promise<void> {
    if (running) {
      void vscode.window.showWarningMessage('MoE Lens: an eval is already running.');
      return;
    }
    const suiteFile = await pickSuite();
    if (!suiteFile) return;
    let suite;
    try {
      suite = loadSuite(suiteFile);
    } catch (error) {
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
      return;
    }
    const config = host.config();
    const server = config.server ? await host.picker.serverOptions({ ...config, server: config.server }) : undefined;
    const models = await pickModels(host, config, server);
    if (!models) return;
    const variantItems = suite.variants.map((v) => ({ label: v.name, description: v.description, picked: true }));
    const variants = variantItems.length > 1 ? await vscode.window.showQuickPick(variantItems, { title: 'Run Long-Summary Eval (3/3): prompt variants', canPickMany: true, ignoreFocusOut: true }) : variantItems;
    if (!variants?.length) return;

    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
    const outDir = path.join(outputRoot(), `${stamp}-${suite.name}`);
    // Placement settings follow the chat's; the context size is the suite's.
    const { modelPath: _m, contextSize: _c, ...loadOptions } = loadOptionsFrom(config, '');
    // The eval runs in its own engine process; free the chat's model first so both do not compete for memory.
    if (!host.controller.isBusy && host.session.isLoaded) await host.session.unload().catch(() => undefined);
    // The run shows in the evals editor tab (the sidebar keeps its compact list).
    host.evalsPanel.show();

    const abort = new AbortController();
    running = abort;
    const post = (body: EvalsResponse) => host.postEvals(body);
    log('info', `Eval ${suite.name}: ${models.length} model(s), variants ${variants.map((v) => v.label).join(', ')} → ${outDir}`);
    try {
      const run = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens eval "${suite.name}"`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          return runEval({
            suite,
            models,
            variants: variants.map((v) => v.label),
            outDir,
            engine: createEngine,
            loadOptions,
            ...(server ? { modelOptions: (m: string) => (m === formatLoadTarget(server) ? server : { ...loadOptions, modelPath: m }), concurrency: config.serverConcurrency } : {}),
            captureRouting: config.captureRouting,
            signal: abort.signal,
            onProgress: (p) => {
              const pct = p.total ? (p.done / p.total) * 100 : 0;
              progress.report({ message: progressText(p), increment: Math.max(0, pct - last) });
              last = pct;
              const { sample: _s, ...rest } = p;
              post({ type: 'evals.progress', dir: outDir, progress: rest });
            },
          });
        },
      );
      post({ type: 'evals.run', run });
      const cancelled = abort.signal.aborted;
      const report = path.join(run.dir, 'report.md');
      const action = await vscode.window.showInformationMessage(
        `MoE Lens: eval ${cancelled ? 'cancelled' : 'finished'} — ${run.samples.length} sample(s) in ${vscode.workspace.asRelativePath(run.dir)}.`,
        ...(fs.existsSync(report) ? ['Open Report'] : []),
      );
      if (action === 'Open Report') await vscode.window.showTextDocument(vscode.Uri.file(report));
    } catch (error) {
      log('error', `Eval failed: ${describeError(error)}`);
      post({ type: 'evals.error', message: describeError(error) });
      void vscode.window.showErrorMessage(`MoE Lens: eval failed: ${describeError(error)}`);
    } finally {
      running = undefined;
    }
  }

  return {
    async handleRequest(body, reply) {
      if (body.type === 'evals.cancel') {
        running?.abort();
        return;
      }
      const answer = await answerEvalsRequest(body, { runsDirs: runsDirs() });
      if (answer) reply(answer);
    },
    runEvalCommand,
  };
}
