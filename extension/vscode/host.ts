// Wires the extension together: engine, chat controller, views, commands, status bar, settings.
// Everything here is a thin adapter; chat logic lives in extension/chat (vscode-free).
import * as vscode from 'vscode';
import type { AnyEngine } from '../engine/any-engine';
import type { WebviewToHost } from '../protocol';
import type { EvalsRequest, EvalsResponse } from '../evals/protocol';
import { ChatController, type ChatSettings } from '../chat/controller';
import { ConversationHistory } from '../chat/history';
import type { Log } from '../chat/events';
import { ModelSession, type ResolvedModel } from '../chat/session';
import { describeError } from '../messages';
import { EngineError } from '../engine/errors';
import { RemoteEngine, normalizeEndpoint } from '../engine/remote-engine';
import { ChatViewProvider, CHAT_VIEW_ID } from './chat-view';
import { CONFIG_SECTION, affectsModel, loadOptionsFrom, parseConfig, samplingFrom, type MoeLensConfig } from './config';
import { demoModelFile } from '../engine/demo-model';
import { formatModelName } from '../format';
import { EvalsPanel } from './evals-panel';
import type { EvalRunContext } from './evals';
import { LensEditorPanel } from './lens-panel';
import { ModelPanel } from './model-panel';
import { registerInterventionCommands } from './interventions';
import { AtlasHistory, registerAtlasCommand } from './atlas-panel';
import { registerPruneCommand } from './prune-command';
import { registerVsCodeChat } from './chat-participant';
import { ModelPicker } from './models';
import { exportRouting } from './routing-export';
import { StatusBar } from './status-bar';
import { registerCommand } from './commands';

export const CONVERSATION_KEY = 'moeLens.conversation';
export const HISTORY_KEY = 'moeLens.pastConversations';

export interface HostDeps {
  context: vscode.ExtensionContext;
  channel: vscode.LogOutputChannel;
  log: Log;
  /** Creates the engine; must not start anything heavy (the client forks on first call). */
  createEngine: () => AnyEngine;
  /** Optional handler for the evals views' requests and the Run Eval command (wired by extension.ts). */
  evals?: EvalsWiring;
}

export interface EvalsWiring {
  handleRequest(body: EvalsRequest, reply: (body: EvalsResponse) => void): void | Promise<void>;
  runEvalCommand(ctx: EvalRunContext): Promise<void>;
}

export class MoeLensHost implements vscode.Disposable {
  /** The engine used by the chat (and Show Model Info); it starts its backends on first use. */
  readonly engine: AnyEngine;
  readonly session: ModelSession;
  readonly controller: ChatController;
  readonly view: ChatViewProvider;
  readonly panel: ModelPanel;
  readonly picker: ModelPicker;
  readonly status: StatusBar;
  private readonly history: ConversationHistory;
  readonly evalsPanel: EvalsPanel;
  /** The lens in an editor tab: gets every chat message the sidebar gets. */
  readonly lensPanel: LensEditorPanel;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly deps: HostDeps) {
    const { context, log } = deps;
    this.history = new ConversationHistory({ load: () => context.workspaceState.get(HISTORY_KEY), save: (data) => context.workspaceState.update(HISTORY_KEY, data) });
    const engine = (this.engine = deps.createEngine());
    this.session = new ModelSession(
      engine,
      () => this.resolveModel(),
      log,
      () => !this.config().server && !this.config().modelPath,
      () => {
        const c = this.config();
        return c.server ? (c.serverModel ? formatModelName(c.serverModel) : c.server) : this.picker.nameOf(c.modelPath);
      },
    );
    // A (re)started sidebar gets its own snapshot (the editor-tab lens keeps its state).
    this.view = new ChatViewProvider(context.extensionUri, {
      onMessage: (m) => this.onMessage(m),
      onRequest: (body) => this.answerEvals(body),
      onReady: () => this.view.post({ type: 'snapshot', snapshot: this.controller.snapshot() }),
      log,
    });
    this.lensPanel = new LensEditorPanel(context.extensionUri, (m) => this.onMessage(m), () => ({ type: 'snapshot', snapshot: this.controller.snapshot() }), log);
    this.controller = new ChatController({
      engine,
      session: this.session,
      settings: () => this.chatSettings(),
      post: (m) => {
        this.view.post(m);
        this.lensPanel.post(m);
      },
      store: {
        load: () => context.workspaceState.get(CONVERSATION_KEY),
        save: (data) => context.workspaceState.update(CONVERSATION_KEY, data),
      },
      history: this.history,
      log,
    });
    // The Model panel's top-k control sets moeLens.expertsPerToken; the configuration change reloads the model.
    this.panel = new ModelPanel(context.extensionUri, (k) => {
      void vscode.workspace.getConfiguration(CONFIG_SECTION).update('expertsPerToken', k, vscode.ConfigurationTarget.Global).then(undefined, (error: unknown) =>
        vscode.window.showErrorMessage(`MoE Lens: cannot set experts per token: ${describeError(error)}`),
      );
    }, () => (this.session.info && this.session.isLoaded ? { info: this.session.info, isDemo: this.session.isDemo, source: 'loaded', expertsPerTokenSetting: this.config().expertsPerToken } : undefined));
    this.evalsPanel = new EvalsPanel(context.extensionUri, {
      onRequest: (body) => this.answerEvals(body),
      onMessage: (message) => message.type === 'webview.error' && log('error', `Evals tab: ${message.message}`),
      log,
    });
    const servers = new RemoteEngine({ log });
    this.picker = new ModelPicker(context, log, (modelPath) => this.engine.inspect({ modelPath, cpuMoe: 'auto' }), {
      list: (options) => servers.listModels(options),
      inspect: (options) => servers.inspect(options),
    });
    this.status = new StatusBar();
    this.refreshStatus();

    this.subs.push(
      vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, this.view, { webviewOptions: { retainContextWhenHidden: false } }),
      this.view,
      this.panel,
      this.evalsPanel,
      this.lensPanel,
      this.status,
      this.session.onDidChange(() => {
        this.refreshStatus();
        // An open model panel follows the loaded model.
        this.panel.refresh();
      }),
      this.controller.onDidFinishTurn((e) => this.refreshStatus(e.tokensPerSecond)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration(CONFIG_SECTION)) return;
        if (affectsModel((s) => e.affectsConfiguration(s))) {
          log('info', 'Model settings changed; the model is loaded again on next use');
          // session.invalidate() fires onDidChange: the controller posts model.state, the status bar refreshes.
          this.controller.modelChanged();
          return;
        }
        this.controller.postModelState();
        this.refreshStatus();
      }),
    );
    this.registerCommands();
  }

  config(): MoeLensConfig {
    return parseConfig(vscode.workspace.getConfiguration(CONFIG_SECTION));
  }

  /** The chat's settings: the sidebar's and VS Code chat's requests use the same. */
  private chatSettings(): ChatSettings {
    const c = this.config();
    return { systemPrompt: c.systemPrompt, sampling: samplingFrom(c), captureRouting: c.captureRouting };
  }

  private async resolveModel(): Promise<ResolvedModel> {
    const c = this.config();
    if (c.server) {
      const options = await this.picker.serverOptions({ ...c, server: c.server });
      if (!options)
        throw new EngineError('remote-unavailable', `Not sending to ${normalizeEndpoint(c.server)}: plain http:// to another machine was not confirmed. Select Model to choose another.`);
      return { options, isDemo: false };
    }
    const options = loadOptionsFrom(c, c.modelPath || demoModelFile());
    // RPC servers on another host: asked once (the engine refuses them otherwise, saying why).
    if (options.rpcServers?.length) options.allowRemoteRpc = await this.picker.allowRemoteRpc(options.rpcServers);
    return { options, isDemo: !c.modelPath };
  }

  /** The answer to an evals view's request (sidebar or editor tab), if it has one. */
  private async answerEvals(body: EvalsRequest): Promise<EvalsResponse | undefined> {
    if (body?.type === 'evals.openInEditor') {
      this.evalsPanel.show();
      if (body.then) void this.answerEvals(body.then).then((answer) => answer && this.evalsPanel.post(answer));
      return undefined;
    }
    let answer: EvalsResponse | undefined;
    try {
      await this.deps.evals?.handleRequest(body, (reply) => (answer = reply));
    } catch (error) {
      answer = { type: 'evals.error', message: describeError(error) };
    }
    return answer;
  }

  /** Eval news (progress, a finished run) for every evals view that is open. */
  postEvals(body: EvalsResponse): void {
    this.view.post({ type: 'evals.update', body });
    this.evalsPanel.post(body);
  }

  /** Reopens a conversation that New chat put aside (the open one is put aside in turn). */
  private async openConversation(): Promise<void> {
    const past = this.history.list();
    if (!past.length) {
      void vscode.window.showInformationMessage('MoE Lens: no past conversations yet (New chat keeps the current one here).');
      return;
    }
    const choice = await vscode.window.showQuickPick(
      past.map((c) => ({ label: c.title, description: `${new Date(c.savedAt).toLocaleString()} · ${c.turns} messages`, id: c.id })),
      { title: 'MoE Lens: Open Past Conversation', placeHolder: 'The conversation open now is kept in this list', ignoreFocusOut: true },
    );
    if (!choice) return;
    if (!(await this.controller.openPast(choice.id))) void vscode.window.showWarningMessage('MoE Lens: that conversation is no longer there.');
    void this.view.reveal(true);
  }

  /** The status bar item's menu: what can be done with the model from here. */
  private async modelActions(): Promise<void> {
    const actions: (vscode.QuickPickItem & { command: string })[] = [
      { label: '$(comment-discussion) Open Chat', command: 'moeLens.openChat' },
      { label: '$(folder-opened) Select Model…', command: 'moeLens.selectModel' },
      { label: '$(cloud-download) Download Model…', command: 'moeLens.downloadModel' },
      { label: '$(info) Show Model Info', command: 'moeLens.showModelInfo' },
      { label: `$(eye) ${this.config().captureRouting ? 'Turn routing capture off' : 'Turn routing capture on'}`, command: 'moeLens.toggleRoutingCapture' },
      { label: '$(beaker) Run Long-Summary Eval…', command: 'moeLens.runEval' },
      { label: '$(output) Show Logs', command: 'moeLens.showLogs' },
    ];
    if (this.session.state === 'generating') actions.splice(1, 0, { label: '$(debug-stop) Stop Generation', command: 'moeLens.stopGeneration' });
    const choice = await vscode.window.showQuickPick(actions, { title: `MoE Lens — ${this.session.summary(this.config().captureRouting).label}`, ignoreFocusOut: true });
    if (choice) await vscode.commands.executeCommand(choice.command);
  }

  private refreshStatus(tokensPerSecond?: number): void {
    this.status.update(this.session.summary(this.config().captureRouting), tokensPerSecond);
  }

  private onMessage(message: WebviewToHost): void {
    const { log } = this.deps;
    switch (message.type) {
      case 'chat.send':
        void this.controller.send(String(message.text ?? ''));
        return;
      case 'chat.stop':
        this.controller.stop();
        return;
      case 'chat.retry':
        void this.controller.retry(message.turnId);
        return;
      case 'chat.new':
        this.controller.newChat();
        return;
      case 'chat.copy':
        void vscode.env.clipboard.writeText(String(message.text ?? ''));
        return;
      case 'chat.insertCode':
        void this.insertCode(String(message.code ?? ''));
        return;
      case 'model.select':
        void vscode.commands.executeCommand('moeLens.selectModel');
        return;
      case 'model.showInfo':
        void vscode.commands.executeCommand('moeLens.showModelInfo');
        return;
      case 'editor.reveal': {
        // Only the range a Summarize Selection turn recorded: the webview names a turn, never a path.
        const source = this.controller.conversation.find((t) => t.id === message.turnId)?.source;
        if (source) {
          void vscode.window.showTextDocument(vscode.Uri.file(source.fileName), { selection: new vscode.Range(source.startLine - 1, 0, source.endLine, 0) }).then(undefined, (error: unknown) =>
            vscode.window.showErrorMessage(`MoE Lens: cannot open ${source.fileName}: ${describeError(error)}`),
          );
        }
        return;
      }
      case 'settings.open':
        void vscode.commands.executeCommand('workbench.action.openSettings', '@ext:moe-lens.moe-lens');
        return;
      case 'routing.setCapture':
        void this.setCapture(!!message.enabled);
        return;
      case 'lens.whatIf':
        // From the webview: only a known action on whole numbers (the engine validates layer and expert).
        if (['ablate-layer', 'ablate-all', 'force'].includes(message.action) && Number.isInteger(message.layer) && Number.isInteger(message.expert)) {
          // The comparison is shown side by side in the editor tab (the sidebar keeps a compact one).
          this.lensPanel.show(String(message.turnId), true);
          void this.controller.whatIf(String(message.turnId), message.layer, message.expert, message.action);
        }
        return;
      case 'lens.openInEditor':
        this.openLensInEditor(typeof message.turnId === 'string' ? message.turnId : undefined);
        return;
      case 'lens.follow':
        if (typeof message.turnId === 'string') this.lensPanel.follow(message.turnId);
        return;
      case 'lens.keepWhatIf':
        if (!this.controller.keepWhatIf(String(message.whatIfId)))
          void vscode.window.showWarningMessage('MoE Lens: that answer cannot be kept any more (the message changed, or an answer is being generated).');
        return;
      case 'routing.export':
        exportRouting(this.controller.conversation, message.format === 'csv' ? 'csv' : 'jsonl', Array.isArray(message.turnIds) ? message.turnIds : [], this.controller.snapshot().moeLayers).catch(
          (error: unknown) => void vscode.window.showErrorMessage(`MoE Lens: export failed: ${describeError(error)}`),
        );
        return;
      case 'webview.error':
        log('error', `Webview: ${message.message}`);
        return;
      default:
        log('debug', `Unhandled webview message ${(message as { type: string }).type}`);
    }
  }

  /** The lens in an editor tab, on a message (default: the last answer with routing). */
  openLensInEditor(turnId?: string): void {
    const turns = this.controller.conversation;
    const known = turns.find((t) => t.id === turnId);
    const routed = turns.filter((t) => t.routing.length > 0);
    const target = known ?? routed.filter((t) => t.role === 'assistant').pop() ?? routed.pop();
    this.lensPanel.show(target?.id);
  }

  private async insertCode(code: string): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      await editor.edit((b) => b.replace(editor.selection, code));
      return;
    }
    const doc = await vscode.workspace.openTextDocument({ content: code });
    await vscode.window.showTextDocument(doc);
  }

  async setCapture(enabled: boolean): Promise<void> {
    await vscode.workspace.getConfiguration(CONFIG_SECTION).update('captureRouting', enabled, vscode.ConfigurationTarget.Global);
  }

  async showModelInfo(): Promise<void> {
    if (this.session.isLoaded) {
      this.panel.show();
      return;
    }
    try {
      const resolved = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'MoE Lens: reading model' },
        async () => {
          const r = await this.resolveModel();
          return { r, info: await this.engine.inspect(r.options) };
        },
      );
      this.panel.show({ info: resolved.info, isDemo: resolved.r.isDemo, source: 'planned', expertsPerTokenSetting: this.config().expertsPerToken });
    } catch (error) {
      this.deps.log('error', `Show Model Info: ${describeError(error)}`);
      this.panel.show({ isDemo: false, source: 'planned', error: describeError(error) });
    }
  }

  async summarizeSelection(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.selection.isEmpty) {
      void vscode.window.showInformationMessage('MoE Lens: select some code to summarize first.');
      return;
    }
    const doc = editor.document;
    const sel = editor.selection;
    const code = doc.getText(sel);
    await this.view.reveal(false);
    await this.controller.summarize({
      fileName: doc.isUntitled ? doc.uri.path : doc.fileName,
      languageId: doc.languageId,
      code,
      startLine: sel.start.line + 1,
    });
  }

  private registerCommands(): void {
    const { context } = this.deps;
    context.subscriptions.push(...registerInterventionCommands({ engine: this.engine, session: this.session, log: this.deps.log }));
    const atlases = new AtlasHistory();
    context.subscriptions.push(...registerAtlasCommand({ engine: this.engine, session: this.session, log: this.deps.log, atlases }));
    context.subscriptions.push(
      ...registerVsCodeChat({
        extensionUri: context.extensionUri,
        engine: this.engine,
        session: this.session,
        runner: this.controller.runner,
        settings: () => this.chatSettings(),
        inspect: async () => this.engine.inspect((await this.resolveModel()).options),
        log: this.deps.log,
      }),
    );
    context.subscriptions.push(
      ...registerPruneCommand({
        engine: this.engine,
        session: this.session,
        log: this.deps.log,
        modelPath: () => (this.config().server ? undefined : this.config().modelPath || demoModelFile()),
        use: (modelPath) => this.picker.use(modelPath),
        loadOptions: async () => (await this.resolveModel()).options,
        atlasOf: (modelPath) => atlases.latestOf(modelPath),
      }),
    );
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => context.subscriptions.push(registerCommand(id, fn, this.deps.log));
    reg('moeLens.openChat', () => this.view.reveal(true));
    reg('moeLens.selectModel', () => this.picker.pick());
    reg('moeLens.modelActions', () => this.modelActions());
    reg('moeLens.openConversation', () => this.openConversation());
    reg('moeLens.openEvals', () => this.evalsPanel.show());
    reg('moeLens.openLensInEditor', () => this.openLensInEditor());
    reg('moeLens.downloadModel', (uri) => this.picker.download(typeof uri === 'string' ? uri : undefined));
    reg('moeLens.summarizeSelection', () => this.summarizeSelection());
    reg('moeLens.newChat', async () => {
      this.controller.newChat();
      await this.view.reveal(true);
    });
    reg('moeLens.stopGeneration', () => {
      if (!this.controller.stop()) void vscode.window.setStatusBarMessage('MoE Lens: nothing is being generated', 3000);
    });
    reg('moeLens.showModelInfo', () => this.showModelInfo());
    reg('moeLens.toggleRoutingCapture', async () => {
      const next = !this.config().captureRouting;
      await this.setCapture(next);
      void vscode.window.setStatusBarMessage(`MoE Lens: routing capture ${next ? 'on' : 'off'}`, 3000);
    });
    reg('moeLens.showLogs', () => this.deps.channel.show(true));
    reg('moeLens.runEval', async () => {
      if (!this.deps.evals) {
        void vscode.window.showWarningMessage('MoE Lens: the eval runner is not available in this build.');
        return;
      }
      await this.deps.evals.runEvalCommand({
        config: this.config(),
        recentModels: () => this.picker.recent(),
        serverOptions: (config) => this.picker.serverOptions(config),
        freeChatModel: async () => {
          if (!this.controller.isBusy && this.session.isLoaded) await this.session.unload().catch(() => undefined);
        },
        showRuns: () => this.evalsPanel.show(),
        post: (body) => this.postEvals(body),
      });
    });
  }

  async dispose(): Promise<void> {
    try {
      await this.controller.dispose();
    } catch (error) {
      this.deps.log('warn', `Saving on shutdown failed: ${describeError(error)}`);
    }
    this.subs.forEach((d) => d.dispose());
    this.session.dispose();
    try {
      await this.engine.dispose();
    } catch {
      // the engine process may already be gone
    }
  }
}
