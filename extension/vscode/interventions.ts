// Palette commands over the loaded model: Expert Importance (Δ perplexity per expert ablated alone and REAP, as a
// heat map in an editor tab, with "Prune by this map" handing the chosen map's scores to Prune Experts) and
// Perplexity, on the active file or a chosen text file, with cancellable progress.
// Thin adapter: the work is extension/engine/importance.ts, importance-prune.ts and the engine's perplexity.
import * as vscode from 'vscode';
import type { ModelSession } from '../chat/session';
import { describeError } from '../messages';
import { isAbort } from '../engine/errors';
import { noiseReason, runImportance, type ImportanceResult } from '../engine/importance';
import type { Engine, ModelInfo } from '../engine/types';
import { chunkingFor, MIN_CHUNK_TOKENS } from '../engine/perplexity';
import { pickText } from './pick-text';
import { formatPerplexity } from '../format';
import { makeNonce } from './html';
import { importancePage } from './importance-html';
import { importancePrune, parsePruneChoice, PRUNE_BY, scoresBy, type ImportancePrune } from './importance-prune';
import type { ScoredPruneRequest } from '../engine/prune-plan';
import { PanelHost } from './webview-host';
import { registerCommand } from './commands';
import type { Log } from '../chat/events';

export interface InterventionCommandDeps {
  engine: Engine;
  session: ModelSession;
  log: Log;
}

/** At most this many chunks (of at most 512 tokens) per run, to keep importance to minutes on a CPU. */
const MAX_CHUNKS = 8;
/** Expert Importance's "Again with more chunks" stops here (each chunk costs one pass per expert it touches). */
const MOST_CHUNKS = 64;

export function registerInterventionCommands(deps: InterventionCommandDeps): vscode.Disposable[] {
  // The page's one message: prune by this map and budget (untrusted: checked against the plans the page was given).
  let shown: { result: ImportanceResult; source: string; prune: ImportancePrune; modelPath: string } | undefined;
  const panels = new PanelHost<{ toHost: { type: 'prune'; by?: unknown; drop?: unknown }; toView: never; request: never; response: never }>(
    () => vscode.window.createWebviewPanel('moeLens.importance', 'Expert importance', vscode.ViewColumn.Active, { enableScripts: true, enableCommandUris: false, localResourceRoots: [] }),
    {
      log: deps.log,
      onMessage: (message) => {
        const choice = shown && message.type === 'prune' ? parsePruneChoice(message, shown.prune) : undefined;
        if (!shown || !choice) return;
        const request: ScoredPruneRequest = { scores: scoresBy(shown.result, choice.by), criterion: PRUNE_BY[choice.by], source: shown.source, drop: choice.drop, modelPath: shown.modelPath };
        void vscode.commands.executeCommand('moeLens.pruneExperts', request);
      },
    },
  );
  type Text = { text: string; source: string };
  const run = async (title: string, text: Text | undefined, work: (info: ModelInfo, text: Text, progress: vscode.Progress<{ message?: string; increment?: number }>, signal: AbortSignal) => Promise<void>) => {
    if (!text) return;
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MoE Lens: ${title}`, cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        progress.report({ message: 'loading the model' });
        const info = await deps.session.ensureLoaded(controller.signal);
        await work(info, text, progress, controller.signal);
      });
    } catch (error) {
      if (isAbort(error)) return;
      deps.log('error', `${title}: ${describeError(error)}`);
      void vscode.window.showErrorMessage(`MoE Lens: ${title} failed: ${describeError(error)}`);
    }
  };
  // Importance over `chunks` chunks of the text (contexts shrink so the text holds them); when the result is mostly
  // noise or has few chunks, the panel and a notification offer the same text again with more.
  const importance = (text: Text | undefined, chunks: number): Promise<void> =>
    run('expert importance', text, async (info, { text, source }, progress, signal) => {
      const { context } = await chunkingFor(deps.engine, text, { chunks, spread: chunks });
      let last = 0;
      const result = await runImportance(deps.engine, { text, context, chunks }, {
        signal,
        onProgress: (p) => {
          progress.report({ message: `${p.done} of ${p.total} experts (layer ${p.layer}, expert ${p.expert})`, increment: ((p.done - last) / p.total) * 100 });
          last = p.done;
        },
      });
      const prune = await importancePrune(info, result);
      const { panel, created } = panels.open();
      if (created) panel.onDidDispose(() => (shown = undefined));
      shown = { result, source, prune, modelPath: info.path };
      // What the text holds at the smallest context; offered only where it narrows the intervals noticeably.
      const more = Math.min(MOST_CHUNKS, result.noise.suggestedChunks, Math.floor(result.baseline.tokens / MIN_CHUNK_TOKENS));
      const offer = result.noise.moreChunks && more >= 1.5 * result.noise.chunks ? `Again with ${more} chunks` : undefined;
      const again = offer ? `“${offer}” in the notification, or a longer text` : 'this text holds no more chunks, so run it on a longer text';
      panel.title = `Expert importance: ${source}`;
      panel.webview.html = importancePage(result, source, panel.webview.cspSource, makeNonce(), again, prune);
      if (offer)
        void vscode.window
          .showInformationMessage(`MoE Lens: expert importance of ${source}: ${noiseReason(result.noise)}.`, offer)
          .then((choice) => {
            if (choice === offer) void importance({ text, source }, more);
          });
    });
  return [
    panels,
    registerCommand('moeLens.expertImportance', async () => importance(await pickText('score the experts'), MAX_CHUNKS), deps.log),
    registerCommand(
      'moeLens.perplexity',
      async () =>
      run('perplexity', await pickText('measure perplexity'), async (info, { text, source }, progress, signal) => {
        const chunking = await chunkingFor(deps.engine, text, { chunks: MAX_CHUNKS });
        let last = 0;
        const r = await deps.engine.perplexity({ text, ...chunking }, {
          signal,
          onProgress: (p) => {
            progress.report({ message: `chunk ${p.chunk} of ${p.chunks}: ${formatPerplexity(p.perplexity)}`, increment: ((p.chunk - last) / p.chunks) * 100 });
            last = p.chunk;
          },
        });
        void vscode.window.showInformationMessage(
          `MoE Lens: perplexity of ${source} = ${formatPerplexity(r.perplexity)} ± ${formatPerplexity(r.stderr)} (${r.chunks} chunks of ${r.context} tokens, top-${info.routing?.expertsPerToken ?? 0}, ${info.name})`,
        );
      }),
      deps.log,
    ),
  ];
}
