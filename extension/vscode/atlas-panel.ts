// *MoE Lens: Routing Atlas*: the atlas (extension/routing/atlas*.ts) of the loaded model over the probe set, the
// workspace, chosen files or folders, a JSONL or an eval suite, with cancellable progress, in an editor tab.
// Thin adapter: corpus choice, progress, the panel, opening an example's source, export.
import * as vscode from 'vscode';
import path from 'node:path';
import type { ModelSession } from '../chat/session';
import { describeError } from '../messages';
import { isAbort } from '../engine/errors';
import type { Engine } from '../engine/types';
import { formatCount, formatNoun } from '../format';
import { probeSetPath, readCorpus } from '../routing/atlas-corpus';
import { atlasCsv, atlasMarkdown } from '../routing/atlas-export';
import { comparisonWithOriginal } from '../routing/atlas-pruned';
import { DEFAULT_PERMUTATIONS, describeSkip, runAtlas, type AtlasResult } from '../routing/atlas-run';
import { atlasExampleFiles, atlasPage } from './atlas-html';
import { makeNonce } from './html';
import { PanelHost } from './webview-host';
import { registerCommand } from './commands';
import type { Log } from '../chat/events';

/** An atlas the panel showed: the model's path, the corpus it was built over, the atlas. */
export interface AtlasShown {
  modelPath: string | undefined;
  corpus: { paths: string[]; source: string };
  result: AtlasResult;
}

/**
 * The atlases shown in this window, the latest per model file and corpus (at most `kept`, the oldest dropped first):
 * the atlas tab compares a pruned model's with its original's over the same corpus, and Prune Experts' Compare
 * builds the pruned model's over the corpus of the original's latest.
 */
export class AtlasHistory {
  private readonly shown: AtlasShown[] = [];
  constructor(private readonly kept = 8) {}

  add(atlas: AtlasShown): void {
    const key = (a: AtlasShown) => `${modelKey(a.modelPath)}\n${corpusKey(a)}`;
    const same = this.shown.findIndex((a) => key(a) === key(atlas));
    if (same >= 0) this.shown.splice(same, 1);
    this.shown.push(atlas);
    if (this.shown.length > this.kept) this.shown.shift();
  }

  /** The atlases over the same corpus as `atlas`, oldest first. */
  overCorpusOf(atlas: AtlasShown): AtlasResult[] {
    return this.shown.filter((a) => corpusKey(a) === corpusKey(atlas)).map((a) => a.result);
  }

  /** The latest atlas of the model file at `modelPath`. */
  latestOf(modelPath: string): AtlasShown | undefined {
    for (let i = this.shown.length - 1; i >= 0; i--) if (modelKey(this.shown[i].modelPath) === modelKey(modelPath)) return this.shown[i];
    return undefined;
  }
}

const corpusKey = (a: AtlasShown) => a.corpus.paths.join('\n');
const modelKey = (modelPath: string | undefined) => (modelPath === undefined ? '' : path.resolve(modelPath));

export interface AtlasCommandDeps {
  engine: Engine;
  session: ModelSession;
  log: Log;
  /** Where every atlas shown is kept. */
  atlases: AtlasHistory;
}

/** The atlas page's script (atlas-html.ts) → host: open an example's source, export the atlas. */
interface AtlasProtocol {
  toHost: { type: 'open'; file: number; line?: number } | { type: 'export'; format: string };
  toView: never;
  request: never;
  response: never;
}

type Choice = vscode.QuickPickItem & { id: 'probes' | 'workspace' | 'pick' };

/** The corpus paths and how to name them, or undefined when the user cancels. */
async function pickCorpus(uris?: vscode.Uri[]): Promise<{ paths: string[]; source: string } | undefined> {
  if (uris?.length) return { paths: uris.map((u) => u.fsPath), source: uris.map((u) => path.basename(u.fsPath)).join(', ') };
  const choices: Choice[] = [{ id: 'probes', label: 'Built-in probe set', description: 'prose, Python, JavaScript, shell, Markdown, numbers' }];
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length) choices.push({ id: 'workspace', label: 'The workspace', description: 'every text file, labelled by extension' });
  choices.push({ id: 'pick', label: 'Choose files or folders…', description: 'also a JSONL of {"text","label"} or an eval suite (.yaml)' });
  const choice = await vscode.window.showQuickPick(choices, { title: 'MoE Lens: Routing Atlas over which texts?', ignoreFocusOut: true });
  if (!choice) return undefined;
  if (choice.id === 'probes') return { paths: [probeSetPath()], source: 'the probe set' };
  if (choice.id === 'workspace') return { paths: folders.map((f) => f.uri.fsPath), source: folders.map((f) => f.name).join(', ') };
  const picked = await vscode.window.showOpenDialog({ canSelectMany: true, canSelectFiles: true, canSelectFolders: true, title: 'Texts for the routing atlas' });
  if (!picked?.length) return undefined;
  return { paths: picked.map((u) => u.fsPath), source: picked.map((u) => path.basename(u.fsPath)).join(', ') };
}

const EXPORTS = {
  json: { ext: 'json', write: (r: AtlasResult) => JSON.stringify(r) + '\n' },
  csv: { ext: 'csv', write: atlasCsv },
  md: { ext: 'md', write: atlasMarkdown },
} as const;

export function registerAtlasCommand(deps: AtlasCommandDeps): vscode.Disposable[] {
  let shown: AtlasResult | undefined;
  const host = new PanelHost<AtlasProtocol>(
    () => vscode.window.createWebviewPanel('moeLens.atlas', 'Routing atlas', vscode.ViewColumn.Active, { enableScripts: true, enableCommandUris: false, localResourceRoots: [] }),
    { onMessage: (message) => void onMessage(message), log: deps.log },
  );

  const show = (atlas: AtlasShown) => {
    const { panel, created } = host.open();
    if (created) panel.onDidDispose(() => (shown = undefined));
    shown = atlas.result;
    panel.title = `Routing atlas: ${atlas.corpus.source}`;
    let pruned: ReturnType<typeof comparisonWithOriginal>;
    try {
      pruned = comparisonWithOriginal(atlas.result, deps.atlases.overCorpusOf(atlas));
    } catch (error) {
      deps.log('warn', `routing atlas: no comparison with the original's atlas: ${describeError(error)}`);
    }
    panel.webview.html = atlasPage(atlas.result, atlas.corpus.source, panel.webview.cspSource, makeNonce(), pruned);
    deps.atlases.add(atlas);
  };

  // Messages come from the webview: only an index into the atlas's own example files is opened.
  const onMessage = async (m: AtlasProtocol['toHost']) => {
    if (!shown) return;
    try {
      if (m.type === 'open' && Number.isInteger(m.file)) {
        const file = atlasExampleFiles(shown)[m.file];
        if (!file) return;
        const line = Math.max(0, (m.line !== undefined && Number.isInteger(m.line) ? m.line : 1) - 1);
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
        const at = new vscode.Position(Math.min(line, doc.lineCount - 1), 0);
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, selection: new vscode.Range(at, at) });
      } else if (m.type === 'export' && typeof m.format === 'string' && Object.hasOwn(EXPORTS, m.format)) {
        const format = EXPORTS[m.format as keyof typeof EXPORTS];
        const data = format.write(shown);
        const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(process.cwd());
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(base, `routing-atlas.${format.ext}`), title: 'Export the routing atlas' });
        if (!target) return;
        await vscode.workspace.fs.writeFile(target, Buffer.from(data, 'utf8'));
        const open = await vscode.window.showInformationMessage(`MoE Lens: routing atlas saved to ${path.basename(target.fsPath)}`, 'Open');
        if (open) await vscode.window.showTextDocument(target);
      }
    } catch (error) {
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
    }
  };

  const command = async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
    const corpus = await pickCorpus(uris ?? (uri instanceof vscode.Uri ? [uri] : undefined));
    if (!corpus) return;
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'MoE Lens: routing atlas', cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        progress.report({ message: 'loading the model' });
        await deps.session.ensureLoaded(controller.signal);
        const result = await runAtlas(deps.engine, readCorpus(corpus.paths), {
          permutations: DEFAULT_PERMUTATIONS,
          signal: controller.signal,
          onProgress: (p) => progress.report({ message: `${formatNoun(p.items, 'item')}, ${formatCount(p.tokens)} tokens${p.skipped ? `, ${p.skipped} skipped` : ''}` }),
          onSkip: (s) => deps.log('warn', `routing atlas: skipped ${describeSkip(s)}`),
        });
        show({ modelPath: deps.engine.model?.path, corpus, result });
      });
    } catch (error) {
      if (isAbort(error)) return;
      deps.log('error', `routing atlas: ${describeError(error)}`);
      void vscode.window.showErrorMessage(`MoE Lens: routing atlas failed: ${describeError(error)}`);
    }
  };
  return [registerCommand('moeLens.routingAtlas', command, deps.log), host];
}
