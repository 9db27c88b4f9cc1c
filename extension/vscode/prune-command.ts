// *MoE Lens: Prune Experts* (palette): choose a budget and a criterion, see which experts go, the new size and the
// placement before → after, write the pruned GGUF with progress and cancel, then load it or Compare it with the
// original ("Pruned vs original" tab: perplexity, decode speed, size, placement). The planning, the writer and the
// measurement are the CLI's (engine/prune-plan.ts, engine/prune.ts, engine/prune-measure.ts); this file only asks
// and shows.
import * as vscode from 'vscode';
import path from 'node:path';
import type { ModelSession } from '../chat/session';
import { describeError } from '../messages';
import { isAbort } from '../engine/errors';
import { chooseRemoval, describePlan, parseScoredPruneRequest, fitVerdict, placementOf, planInputOf, scoreExperts, type PruneCriterion } from '../engine/prune-plan';
import { checkPrunedFrom, comparePruned } from '../engine/prune-measure';
import { chunkingFor } from '../engine/perplexity';
import { moeShape, prunedSize, readGgufLayout, writePruned, type PrunePlan } from '../engine/prune';
import type { Engine, LoadOptions, LocalLoadOptions, PerplexityResult } from '../engine/types';
import { formatBytes, MISSING } from '../format';
import { pruneBudgets } from '../engine/prune-budget';
import { pickText } from './pick-text';
import { registerCommand } from './commands';
import { makeNonce } from './html';
import { pruneComparePage, type PruneCompareMessage, type PruneCompareView } from './prune-compare-html';
import { PanelHost } from './webview-host';
import type { AtlasShown } from './atlas-panel';
import { prunedComparisonHtml } from './atlas-html';
import { compareAcrossPruning, pairAtlases } from '../routing/atlas-pruned';
import { readCorpus } from '../routing/atlas-corpus';
import { DEFAULT_PERMUTATIONS, runAtlas } from '../routing/atlas-run';
import type { Log } from '../chat/events';

export interface PruneCommandDeps {
  engine: Engine;
  session: ModelSession;
  log: Log;
  /** The GGUF file the session loads, or undefined for a server. */
  modelPath: () => string | undefined;
  /** Selects and loads another model file. */
  use: (modelPath: string) => Promise<boolean>;
  /** The configured model's load options (the pruned file is loaded with the same ones to compare). */
  loadOptions: () => Promise<LoadOptions>;
  /** The latest routing atlas built in this window of a model file: Compare then builds the pruned model's too. */
  atlasOf?: (modelPath: string) => AtlasShown | undefined;
}

const CRITERIA: (vscode.QuickPickItem & { id: PruneCriterion })[] = [
  { id: 'frequency', label: 'Routed frequency', description: 'drop the experts the text uses least (one pass)' },
  { id: 'reap', label: 'REAP', description: 'drop the lowest mean gate weight × output norm (one pass)' },
  { id: 'random', label: 'Random', description: 'the baseline a criterion must beat' },
];

export function registerPruneCommand(deps: PruneCommandDeps): vscode.Disposable[] {
  // The Compare tab; `shown` is what its buttons act on (the pruned file, the command's argument for Write another).
  let shown: { prunedPath: string; arg: unknown; again: boolean } | undefined;
  const panel = new PanelHost<{ toHost: PruneCompareMessage; toView: never; request: never; response: never }>(
    () => vscode.window.createWebviewPanel('moeLens.pruneCompare', 'Pruned vs original', vscode.ViewColumn.Active, { enableScripts: true, enableCommandUris: false, localResourceRoots: [] }),
    {
      // The page is untrusted: only these two actions, on the file the host itself wrote.
      onMessage: (m) => {
        if (!shown) return;
        if (m.type === 'load') void deps.use(shown.prunedPath);
        else if (m.type === 'again' && shown.again) void command(shown.arg);
      },
      log: deps.log,
    },
  );

  const command = async (arg?: unknown) => {
    const input = deps.modelPath();
    if (!input) {
      void vscode.window.showErrorMessage('MoE Lens: pruning needs a local GGUF model; a server loads its own.');
      return;
    }
    try {
      const layout = await readGgufLayout(input);
      const shape = moeShape(layout);
      const scored = parseScoredPruneRequest(arg, shape, input);
      const budgets = pruneBudgets(shape).map((b) => b.drop);
      if (!budgets.length) {
        void vscode.window.showErrorMessage(`MoE Lens: ${shape.name} has ${shape.experts} experts per layer and uses ${shape.expertsPerToken}: none can go.`);
        return;
      }
      const budget =
        scored?.drop !== undefined
          ? { drop: scored.drop }
          : await vscode.window.showQuickPick(
              budgets.map((drop) => ({ label: `Drop ${drop} of ${shape.experts} experts per layer`, description: `${Math.round((100 * drop) / shape.experts)} %`, drop })),
              { title: `MoE Lens: prune ${shape.name}${scored ? ` by ${scored.criterion} on ${scored.source}` : ''}`, ignoreFocusOut: true },
            );
      if (!budget) return;
      const criterion = scored
        ? { id: undefined, label: `${scored.criterion} on ${scored.source}` }
        : await vscode.window.showQuickPick(CRITERIA, { title: 'MoE Lens: which experts go?', ignoreFocusOut: true });
      if (!criterion) return;
      const measuredOn = criterion.id === undefined || criterion.id === 'random' ? undefined : await pickText('measure the experts');
      if (criterion.id !== undefined && criterion.id !== 'random' && measuredOn === undefined) return;
      const text = measuredOn?.text;

      const planned = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'MoE Lens: measuring the experts', cancellable: true },
        async (_progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          const info = await deps.session.ensureLoaded(controller.signal);
          const chunking = text === undefined ? undefined : await chunkingFor(deps.engine, text);
          const measured = scored ? undefined : await scoreExperts(deps.engine, criterion.id!, { text, ...chunking }, { signal: controller.signal });
          const plan = chooseRemoval(shape, scored?.scores ?? measured!.scores, budget.drop);
          const placement = planInputOf(info.placement!, 'auto');
          // The scoring pass's perplexity of the original, on these chunks: Compare reuses it.
          const baseline = measured?.baseline && chunking && { ...chunking, result: measured.baseline };
          return { plan, baseline, before: fitVerdict(placementOf(layout, shape, placement)), after: fitVerdict(placementOf(layout, shape, placement, plan)) };
        },
      );
      const go = await vscode.window.showInformationMessage(
        `Prune ${shape.name}: keep ${planned.plan.keepCount} of ${shape.experts} experts per layer (by ${criterion.label}).`,
        {
          modal: true,
          detail: describePlan(planned.plan, { sizeBefore: layout.fileSize, sizeAfter: prunedSize(layout, planned.plan), fitBefore: planned.before, fitAfter: planned.after }).join('\n'),
        },
        'Write pruned model…',
      );
      if (!go) return;
      const parsed = path.parse(input);
      const target = await vscode.window.showSaveDialog({
        // The workspace rather than beside the original: the demo model lives in the extension's own folder.
        defaultUri: vscode.Uri.joinPath(
          vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(parsed.dir),
          `${parsed.name}-${planned.plan.keepCount}x.gguf`,
        ),
        filters: { 'GGUF model': ['gguf'] },
        title: 'Write the pruned model',
      });
      if (!target) return;
      const written = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens: writing ${path.basename(target.fsPath)}`, cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let last = 0;
          return writePruned(input, target.fsPath, planned.plan, {
            signal: controller.signal,
            onProgress: (p) => {
              const percent = (100 * p.bytesRead) / p.bytesTotal;
              progress.report({ increment: percent - last, message: `${Math.floor(percent)} %` });
              last = percent;
            },
          });
        },
      );
      deps.log('info', `pruned ${shape.name} to ${written.output} (${formatBytes(written.outputBytes)})`);
      const next = await vscode.window.showInformationMessage(
        `MoE Lens: wrote ${path.basename(written.output)} (${formatBytes(written.inputBytes)} → ${formatBytes(written.outputBytes)}).`,
        'Load it',
        'Compare',
      );
      if (next === 'Load it') await deps.use(written.output);
      else if (next === 'Compare') {
        // The text the plan was measured on (its baseline perplexity is reused), else one asked for now.
        const on = measuredOn ?? (await pickText('measure perplexity'));
        const view = await compare(input, written.output, on, measuredOn ? planned.baseline : undefined);
        if (view) showComparison(view, planned.plan, { before: planned.before, after: planned.after }, { arg });
      }
    } catch (error) {
      if (isAbort(error)) return;
      deps.log('error', `prune experts: ${describeError(error)}`);
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
    }
  };

  /**
   * The "Pruned vs original" tab. Placement: where the engine put the weights on load, else `fit` (the plan's
   * estimate). `again`: the prune command's argument for Write another… (absent: no such button).
   */
  const showComparison = (view: Awaited<ReturnType<typeof compare>> & object, plan: PrunePlan, fit: { before: string; after: string }, again?: { arg: unknown }) => {
    shown = { prunedPath: view.prunedPath, arg: again?.arg, again: !!again };
    const { panel: tab } = panel.open();
    tab.title = `Pruned vs original: ${view.prunedName}`;
    tab.webview.html = pruneComparePage(
      {
        ...view,
        fitBefore: view.original.placement ? fitVerdict(view.original.placement) : fit.before,
        fitAfter: view.pruned.placement ? fitVerdict(view.pruned.placement) : fit.after,
        removed: describePlan(plan),
        again: !!again,
      },
      tab.webview.cspSource,
      makeNonce(),
    );
  };

  /**
   * Measures the original and the pruned file alike (comparePruned) with cancellable progress. The engine holds one
   * model: the pruned one only for its measurement; whatever happens, the configured model is loaded again after.
   */
  const compare = async (
    input: string,
    prunedPath: string,
    on: { text: string; source: string } | undefined,
    baseline: { context: number; chunks: number; result: PerplexityResult } | undefined,
  ): Promise<(Omit<PruneCompareView, 'fitBefore' | 'fitAfter' | 'removed'> & { prunedPath: string }) | undefined> => {
    // The configured model is the original (after writing) or the pruned file (the palette's Compare).
    const configured = deps.modelPath();
    if (configured !== input && configured !== prunedPath) throw new Error(`the configured model is no longer ${path.basename(input)}: load it to compare`);
    if (deps.session.state === 'generating') {
      void vscode.window.showWarningMessage('MoE Lens: an answer is being generated; stop it or let it finish, then compare.');
      return undefined;
    }
    const options = await deps.loadOptions();
    if (options.backend !== undefined && options.backend !== 'local') throw new Error('comparing needs a local GGUF model');
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'MoE Lens: comparing the pruned model', cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        const originalOptions = { ...(options as LocalLoadOptions), modelPath: input };
        let swapped = false;
        try {
          await deps.session.ensureLoaded(controller.signal);
          if (configured !== input) {
            progress.report({ message: `loading ${path.basename(input)}` });
            swapped = true;
            deps.session.invalidate();
            await deps.engine.load(originalOptions, controller.signal);
          }
          const chunking: { context?: number; chunks?: number } = baseline ?? (on ? await chunkingFor(deps.engine, on.text) : {});
          const steps = { original: `measuring ${path.basename(input)}`, loading: `loading ${path.basename(prunedPath)}`, pruned: `measuring ${path.basename(prunedPath)}` };
          const measured = await comparePruned(deps.engine, originalOptions, prunedPath, { text: on?.text, context: chunking.context, chunks: chunking.chunks, tokens: DECODE_TOKENS }, {
            signal: controller.signal,
            known: baseline?.result,
            onStep: (step) => {
              // From here the engine's model is not the session's: the session forgets it, and reloads it below.
              if (step === 'loading') {
                swapped = true;
                deps.session.invalidate();
              }
              progress.report({ message: steps[step] });
            },
          });
          const names = { original: path.basename(input), pruned: path.basename(prunedPath) };
          // With the original's atlas built in this window: the pruned model's over the same corpus, while it is loaded.
          const atlas = deps.atlasOf?.(input);
          let atlasSection: string | undefined;
          if (atlas) {
            progress.report({ message: `routing atlas of ${names.pruned} over ${atlas.corpus.source}` });
            const result = await runAtlas(deps.engine, readCorpus(atlas.corpus.paths), { permutations: DEFAULT_PERMUTATIONS, signal: controller.signal });
            const pair = pairAtlases(atlas.result, result);
            if (pair.kind === 'pruned') atlasSection = prunedComparisonHtml(compareAcrossPruning(pair.original, pair.pruned, pair.originalExpertIds), names);
            else deps.log('warn', `prune compare: the atlases are not comparable: ${pair.kind === 'unrelated' ? pair.reason : 'same shape'}`);
          }
          return { prunedPath, originalName: names.original, prunedName: names.pruned, textSource: on?.source, atlasSection, ...measured };
        } finally {
          if (swapped) {
            progress.report({ message: `loading ${path.basename(input)} again` });
            deps.session.invalidate();
            await deps.session.ensureLoaded().catch((error: unknown) => deps.log('error', `prune compare: reloading ${input}: ${describeError(error)}`));
          }
        }
      },
    );
  };
  /** *Compare Pruned Model with Original*: the configured model is a pruned file; the user names its original. */
  const comparePalette = async () => {
    const prunedPath = deps.modelPath();
    if (!prunedPath) {
      void vscode.window.showErrorMessage('MoE Lens: comparing needs a local GGUF model; a server loads its own.');
      return;
    }
    try {
      const shape = moeShape(await readGgufLayout(prunedPath));
      if (shape.originalExperts === shape.experts) throw new Error(`${path.basename(prunedPath)} is not a pruned model (MoE Lens: Prune Experts writes one)`);
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: false,
        defaultUri: vscode.Uri.file(path.dirname(prunedPath)),
        filters: { 'GGUF model': ['gguf'] },
        title: `The original model ${path.basename(prunedPath)} was pruned from (${shape.originalExperts} experts per layer)`,
      });
      if (!picked?.[0]) return;
      const original = picked[0].fsPath;
      const plan = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `MoE Lens: checking ${path.basename(original)}`, cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          token.onCancellationRequested(() => controller.abort());
          let last = 0;
          return checkPrunedFrom(prunedPath, original, {
            signal: controller.signal,
            onProgress: (read, total) => {
              const percent = (100 * read) / total;
              progress.report({ increment: percent - last, message: `sha256 ${Math.floor(percent)} %` });
              last = percent;
            },
          });
        },
      );
      const view = await compare(original, prunedPath, await pickText('measure perplexity'), undefined);
      if (view) showComparison(view, plan, { before: MISSING, after: MISSING });
    } catch (error) {
      if (isAbort(error)) return;
      deps.log('error', `compare pruned model: ${describeError(error)}`);
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
    }
  };
  return [registerCommand('moeLens.pruneExperts', command, deps.log), registerCommand('moeLens.comparePruned', comparePalette, deps.log), panel];
}

/** Greedy tokens generated to time the decode speed (the CLI's --tokens default). */
const DECODE_TOKENS = 64;
