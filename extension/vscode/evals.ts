// Evals wiring: the "Run Long-Summary Eval" command (pick suite, models, variants → cancellable progress) and
// the evals tab's requests, answered from run folders by extension/evals (vscode-free).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Engine, RemoteLoadOptions } from '../engine/types';
import { formatLoadTarget } from '../engine/backends';
import { formatNoun } from '../format';
import type { Log } from '../chat/events';
import { answerEvalsRequest } from '../evals/host';
import type { EvalsResponse } from '../evals/protocol';
import { isFile, loadSuite, runEval } from '../evals/index';
import type { EvalSuite } from '../evals/types';
import { describeError } from '../messages';
import { progressText } from '../evals/progress';
import { loadOptionsFrom, type MoeLensConfig } from './config';
import { DEMO_MODEL_NAME, demoModelFile } from '../engine/demo-model';
import type { EvalsWiring } from './host';
import { BACK, QuickSteps, type StepAnswer } from './quick-steps';
import { runFolderName } from '../evals/run-id';

/** What the Run Eval command needs from the rest of the extension; the host passes it in. */
export interface EvalRunContext {
  /** The settings now. */
  config: MoeLensConfig;
  /** The model files used lately (offered in the models step). */
  recentModels(): string[];
  /** A configured server's load options (undefined where the user gave up, e.g. on its API key). */
  serverOptions(config: MoeLensConfig & { server: string }): Promise<RemoteLoadOptions | undefined>;
  /** Frees the chat's model, unless the chat is generating, so the eval's own engine process has the memory. */
  freeChatModel(): Promise<void>;
  /** Opens the evals editor tab. */
  showRuns(): void;
  /** Eval news (progress, the finished run, an error) for every open evals view. */
  post(body: EvalsResponse): void;
}

export function createEvalsWiring(context: vscode.ExtensionContext, log: Log, createEngine: () => Engine): EvalsWiring {
  let running: AbortController | undefined;

  const runsDirs = (): string[] => {
    const dirs = [path.join(context.globalStorageUri.fsPath, 'eval-runs')];
    for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') dirs.unshift(path.join(f.uri.fsPath, 'eval-runs'));
    return dirs;
  };

  const outputRoot = (): string => runsDirs()[0];

  const WIZARD = 'Run Long-Summary Eval';

  /** Step 1: the built-in suite, suites found in the workspace, or one browsed for; loaded (a bad one says why). */
  async function chooseSuite(steps: QuickSteps): Promise<StepAnswer<EvalSuite>> {
    const builtin = vscode.Uri.joinPath(context.extensionUri, 'suites', 'builtin', 'suite.yaml').fsPath;
    type Item = vscode.QuickPickItem & { file?: string; browse?: boolean };
    const items: Item[] = [];
    if (await isFile(builtin)) items.push({ label: '$(library) Built-in long-summary suite', description: 'suites/builtin/suite.yaml', file: builtin });
    const found = await vscode.workspace.findFiles('**/{suite,*.suite}.{yaml,yml}', '**/node_modules/**', 20);
    for (const uri of found) if (uri.fsPath !== builtin) items.push({ label: `$(file) ${vscode.workspace.asRelativePath(uri)}`, file: uri.fsPath });
    items.push({ label: '$(folder-opened) Browse for a suite file…', browse: true });
    const choice = await steps.one({ title: `${WIZARD}: suite`, step: 1, of: 3, items });
    if (!choice || choice === BACK) return choice;
    let file = choice.file;
    if (!file) {
      steps.close();
      const uris = await vscode.window.showOpenDialog({ title: 'Eval suite', canSelectMany: false, filters: { 'Suite (YAML)': ['yaml', 'yml'] } });
      file = uris?.[0]?.fsPath;
      if (!file) return undefined;
    }
    try {
      return await loadSuite(file);
    } catch (error) {
      steps.close();
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
      return undefined;
    }
  }

  /** Step 2: the models, the chat's (its server or file) checked. */
  async function chooseModels(steps: QuickSteps, ctx: EvalRunContext, server: RemoteLoadOptions | undefined): Promise<StepAnswer<string[]>> {
    const { config } = ctx;
    const all = ctx.recentModels();
    const found = await Promise.all(all.map(isFile));
    const recent = all.filter((_, i) => found[i]);
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
    add('', DEMO_MODEL_NAME, !config.modelPath && !server, 'built in: trained here, continues prose and code');
    const chosen = await steps.many({ title: `${WIZARD}: models`, step: 2, of: 3, items });
    if (!chosen || chosen === BACK) return chosen;
    return chosen.map((c) => c.path || demoModelFile());
  }

  /** Step 3: the prompt variants (all checked); skipped for a suite with one. */
  async function chooseVariants(steps: QuickSteps, suite: EvalSuite): Promise<StepAnswer<string[]>> {
    if (suite.variants.length < 2) return suite.variants.map((v) => v.name);
    const items = suite.variants.map((v) => ({ label: v.name, description: v.description, picked: true }));
    const chosen = await steps.many({ title: `${WIZARD}: prompt variants`, step: 3, of: 3, items });
    if (!chosen || chosen === BACK) return chosen;
    return chosen.map((v) => v.label);
  }

  /** The wizard: suite, models, variants, with Back; undefined when the user closed it. */
  async function chooseRun(ctx: EvalRunContext, server: RemoteLoadOptions | undefined): Promise<{ suite: EvalSuite; models: string[]; variants: string[] } | undefined> {
    const steps = new QuickSteps();
    try {
      let suite: EvalSuite | undefined;
      let models: string[] | undefined;
      for (let step = 1; ; ) {
        if (step === 1) {
          const answer = await chooseSuite(steps);
          if (!answer || answer === BACK) return undefined;
          suite = answer;
          step = 2;
        } else if (step === 2) {
          const answer = await chooseModels(steps, ctx, server);
          if (!answer) return undefined;
          if (answer === BACK) step = 1;
          else {
            models = answer;
            step = 3;
          }
        } else {
          const answer = await chooseVariants(steps, suite!);
          if (!answer) return undefined;
          if (answer === BACK) step = 2;
          else return { suite: suite!, models: models!, variants: answer };
        }
      }
    } finally {
      steps.dispose();
    }
  }

  async function runEvalCommand(ctx: EvalRunContext): Promise<void> {
    if (running) {
      void vscode.window.showWarningMessage('MoE Lens: an eval is already running.');
      return;
    }
    const { config } = ctx;
    const server = config.server ? await ctx.serverOptions({ ...config, server: config.server }) : undefined;
    const chosen = await chooseRun(ctx, server);
    if (!chosen) return;
    const { suite, models, variants } = chosen;

    const outDir = path.join(outputRoot(), runFolderName(suite.name));
    // Placement settings follow the chat's; the context size is the suite's.
    const { modelPath: _m, contextSize: _c, ...loadOptions } = loadOptionsFrom(config, '');
    // The eval runs in its own engine process; free the chat's model first so both do not compete for memory.
    await ctx.freeChatModel();
    // The run shows in the evals editor tab (the sidebar keeps its compact list).
    ctx.showRuns();

    const abort = new AbortController();
    running = abort;
    const { post } = ctx;
    log('info', `Eval ${suite.name}: ${formatNoun(models.length, 'model')}, variants ${variants.join(', ')} → ${outDir}`);
    try {
      const run = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens eval "${suite.name}"`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          let last = 0;
          return runEval({
            suite,
            models,
            variants,
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
      // What the user should know about the results (a context beyond a model's training) makes it a warning.
      const warnings = run.info.warnings ?? [];
      const message =
        `MoE Lens: eval ${cancelled ? 'cancelled' : 'finished'} — ${formatNoun(run.samples.length, 'sample')} in ${vscode.workspace.asRelativePath(run.dir)}.` +
        warnings.map((w) => ` Warning: ${w}.`).join('');
      const buttons = (await isFile(report)) ? ['Open Report'] : [];
      const action = await (warnings.length ? vscode.window.showWarningMessage(message, ...buttons) : vscode.window.showInformationMessage(message, ...buttons));
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
