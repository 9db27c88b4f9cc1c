// Choosing the model: a local .gguf (open dialog + recent models), a Hugging Face download, the demo, or a server
// (URL, optional API key into SecretStorage, model from its /v1/models).
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { BACK, QuickSteps } from './quick-steps';
import { formatBytes, formatCapabilities, formatModelLabel, formatModelName } from '../format';
import { download, downloadProgressText, planDownload, type DownloadPlan } from '../engine/download';
import { isAbort } from '../engine/errors';
import { describeFit, fitOnMachine, moeRecommendations, type Fit, type Recommendation } from '../engine/recommended';
import type { GgufModelInfo, ModelInfo, RemoteLoadOptions } from '../engine/types';
import { isInsecureRemote, normalizeEndpoint } from '../engine/remote-engine';
import { describeError } from '../messages';
import type { Log } from '../chat/events';
import { DEMO_MODEL_NAME } from '../engine/demo-model';
import { CONFIG_SECTION, remoteOptionsFrom, type MoeLensConfig } from './config';
import { parseRpcServers, remoteRpcServers } from '../engine/rpc';

const RECENT_KEY = 'moeLens.recentModels';
const INSECURE_KEY = 'moeLens.insecureServersAllowed';
const RPC_KEY = 'moeLens.remoteRpcAllowed';

/** The SecretStorage key of a server's API key. */
export const apiKeySecret = (endpoint: string) => `moeLens.apiKey:${endpoint}`;

/** What Select Model needs from the remote engine. */
export interface ServerAccess {
  list(options: RemoteLoadOptions): Promise<string[]>;
  inspect(options: RemoteLoadOptions): Promise<ModelInfo>;
}
const MAX_RECENT = 10;

export class ModelPicker {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: Log,
    /** The engine's `inspect` of a model path or `hf:` URI (the header only; placement planned on this machine). */
    private readonly inspect: (modelPath: string) => Promise<GgufModelInfo>,
    private readonly servers: ServerAccess,
  ) {}

  /**
   * The configured server's load options with its key from SecretStorage, or undefined when plain http:// to
   * another machine was not confirmed.
   */
  async serverOptions(config: MoeLensConfig & { server: string }): Promise<RemoteLoadOptions | undefined> {
    const endpoint = normalizeEndpoint(config.server);
    if (!(await this.allowInsecure(endpoint))) return undefined;
    return remoteOptionsFrom({ ...config, server: endpoint }, await this.context.secrets.get(apiKeySecret(endpoint)));
  }

  /**
   * Asks once per address (remembered) before messages go over plain http:// to another machine; loopback and
   * https:// need no question.
   */
  async allowInsecure(endpoint: string): Promise<boolean> {
    if (!isInsecureRemote(endpoint)) return true;
    return this.askOnce(
      INSECURE_KEY,
      endpoint,
      `MoE Lens: ${endpoint} is another machine reached over plain http://. Your messages, code and API key would travel unencrypted. Send to it anyway?`,
      'Send unencrypted',
    );
  }

  /** Asks once per server list (remembered) before a model goes on RPC servers on other hosts: RPC is unauthenticated. */
  async allowRemoteRpc(servers: string[]): Promise<boolean> {
    const remote = remoteRpcServers(parseRpcServers(servers)).map((s) => s.text);
    if (!remote.length) return false;
    return this.askOnce(
      RPC_KEY,
      remote.join(','),
      `MoE Lens: the RPC servers ${remote.join(', ')} are on other machines. llama.cpp's RPC has no authentication or encryption: anyone who reaches those ports can run work there and read the model, and the answers they send are trusted. Use them?`,
      'Use RPC servers',
    );
  }

  private async askOnce(stateKey: string, item: string, message: string, button: string): Promise<boolean> {
    const allowed = this.context.globalState.get<string[]>(stateKey, []);
    if (Array.isArray(allowed) && allowed.includes(item)) return true;
    if ((await vscode.window.showWarningMessage(message, { modal: true }, button)) !== button) return false;
    await this.context.globalState.update(stateKey, [...(Array.isArray(allowed) ? allowed : []), item]);
    return true;
  }

  /**
   * Connect to a server: address, optional API key (SecretStorage), model from its list; checked before use. The
   * steps share one open prompt (`steps`, Select Model's when it leads here) and have Back.
   */
  async connect(steps = new QuickSteps()): Promise<boolean> {
    const title = 'MoE Lens: Connect to a server';
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
    let endpoint = '';
    try {
      let typed: string | undefined;
      let base: RemoteLoadOptions | undefined;
      let models: string[] = [];
      for (let step = 1; ; ) {
        if (step === 1) {
          const url = await steps.text({
            title: `${title}: address`,
            step: 1,
            of: 3,
            prompt: 'An OpenAI-compatible server: llama-server, vLLM, SGLang, Ollama, LM Studio or moe-lens serve',
            value: endpoint || config.get<string>('server') || 'http://127.0.0.1:8080',
            validate: (value) => {
              try {
                normalizeEndpoint(value);
                return undefined;
              } catch (error) {
                return (error as Error).message;
              }
            },
          });
          if (!url || url === BACK) return false;
          endpoint = normalizeEndpoint(url);
          if (!(await this.allowInsecure(endpoint))) return false;
          step = 2;
        } else if (step === 2) {
          const stored = await this.context.secrets.get(apiKeySecret(endpoint));
          const key = await steps.text({
            title: `${title}: API key`,
            step: 2,
            of: 3,
            prompt: stored ? 'A key is stored for this server: leave empty to keep it, or enter a new one' : "Optional: leave empty for a server without a key. It is kept in VS Code's secret storage.",
            password: true,
          });
          if (key === undefined) return false;
          if (key === BACK) {
            step = 1;
            continue;
          }
          typed = key;
          const apiKey = key || stored;
          base = { backend: 'remote', endpoint, ...(apiKey ? { apiKey } : {}) };
          models = await this.servers.list(base);
          step = 3;
        } else {
          const items = models.map((label) => ({ label }));
          const model = items.length === 1 ? items[0] : await steps.one({ title: `${title}: model`, step: 3, of: 3, items });
          if (!model || steps.closed) return false;
          if (model === BACK) {
            step = 2;
            continue;
          }
          const info = await this.servers.inspect({ ...base!, model: model.label });
          steps.close();
          if (typed) await this.context.secrets.store(apiKeySecret(endpoint), typed);
          await config.update('serverModel', info.remote?.model ?? info.name, vscode.ConfigurationTarget.Global);
          await config.update('server', endpoint, vscode.ConfigurationTarget.Global);
          this.log('info', `Model set to ${info.name} on ${endpoint} (${info.remote?.server}): ${formatCapabilities(info.capabilities)}`);
          void vscode.window.showInformationMessage(`MoE Lens: connected to ${info.name} on ${endpoint} (${info.remote?.server}): ${formatCapabilities(info.capabilities)}`);
          return true;
        }
      }
    } catch (error) {
      steps.close();
      const message = describeError(error);
      this.log('warn', `Not connecting to ${endpoint}: ${message}`);
      void vscode.window.showErrorMessage(`MoE Lens: cannot use ${endpoint}: ${message}`);
      return false;
    } finally {
      steps.dispose();
    }
  }

  /** The names of the files checked by `use` (formatModelLabel of their GGUF header), before they are loaded. */
  private readonly names = new Map<string, string>();

  /** A local model's one name before it loads: its GGUF's name where `use` read it, else its file name. */
  nameOf(modelPath: string): string {
    return this.names.get(modelPath) ?? formatModelName(modelPath);
  }

  recent(): string[] {
    const list = this.context.globalState.get<string[]>(RECENT_KEY, []);
    return Array.isArray(list) ? list.filter((p) => typeof p === 'string') : [];
  }

  async remember(modelPath: string): Promise<void> {
    const list = [modelPath, ...this.recent().filter((p) => p !== modelPath)].slice(0, MAX_RECENT);
    await this.context.globalState.update(RECENT_KEY, list);
  }

  /**
   * Sets `moeLens.modelPath` (user settings); '' selects the demo model. A file is checked first (the engine's own
   * header checks: the same one-line error as every command gives); one that fails is neither used nor kept in
   * the recent models.
   */
  async use(modelPath: string): Promise<boolean> {
    if (modelPath) {
      try {
        this.names.set(modelPath, formatModelLabel(await this.inspect(modelPath)));
      } catch (error) {
        const message = describeError(error);
        this.log('warn', `Not using ${modelPath}: ${message}`);
        await this.context.globalState.update(RECENT_KEY, this.recent().filter((p) => p !== modelPath));
        void vscode.window.showErrorMessage(`MoE Lens: cannot use ${path.basename(modelPath)}: ${message}`);
        return false;
      }
      await this.remember(modelPath);
    }
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
    // A local model ends the server connection (its address and key stay for the next Connect).
    if (config.get<string>('server')) await config.update('server', '', vscode.ConfigurationTarget.Global);
    await config.update('modelPath', modelPath, vscode.ConfigurationTarget.Global);
    this.log('info', `Model set to ${modelPath || DEMO_MODEL_NAME}`);
    return true;
  }

  async pick(): Promise<void> {
    type Item = vscode.QuickPickItem & { action: 'browse' | 'download' | 'demo' | 'recent' | 'connect'; path?: string };
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION);
    const server = config.get<string>('server', '');
    const current = server ? '' : config.get<string>('modelPath', '');
    const items: Item[] = [
      { label: '$(folder-opened) Browse for a .gguf file…', action: 'browse' },
      { label: '$(cloud-download) Download from Hugging Face…', action: 'download' },
      { label: '$(remote) Connect to a server…', description: 'llama-server, vLLM, SGLang, Ollama, LM Studio, moe-lens serve', action: 'connect' },
      { label: `$(beaker) ${DEMO_MODEL_NAME}`, description: 'built in: an 11 M-parameter MoE trained on prose and code; it continues text', action: 'demo', picked: !current && !server },
    ];
    const recent = this.recent();
    if (recent.length) {
      items.push({ label: 'Recent models', kind: vscode.QuickPickItemKind.Separator, action: 'recent' });
      for (const p of recent) {
        const exists = fs.existsSync(p);
        items.push({
          label: `${p === current ? '$(check) ' : ''}${path.basename(p)}`,
          description: exists ? path.dirname(p) : 'missing',
          action: 'recent',
          path: p,
        });
      }
    }
    const placeHolder = server ? `Current: ${config.get<string>('serverModel') || 'the first model'} on ${server}` : current ? `Current: ${current}` : `Current: ${DEMO_MODEL_NAME}`;
    // One open prompt from here into Connect's steps (see quick-steps.ts).
    const steps = new QuickSteps();
    try {
      const choice = await steps.one({ title: 'MoE Lens: Select Model', items, placeholder: placeHolder });
      if (!choice || choice === BACK) return;
      if (choice.action === 'connect') {
        await this.connect(steps);
        return;
      }
      steps.close();
      switch (choice.action) {
        case 'browse':
          return await this.browse();
        case 'download':
          await vscode.commands.executeCommand('moeLens.downloadModel');
          return;
        case 'demo':
          await this.use('');
          return;
        case 'recent':
          // A file that is gone (or was replaced by something unusable) is refused and dropped by use().
          if (choice.path) await this.use(choice.path);
      }
    } finally {
      steps.dispose();
    }
  }

  async browse(): Promise<void> {
    const uris = await vscode.window.showOpenDialog({
      title: 'Select a GGUF model',
      canSelectMany: false,
      canSelectFiles: true,
      openLabel: 'Use Model',
      filters: { 'GGUF models': ['gguf'], 'All files': ['*'] },
    });
    const uri = uris?.[0];
    if (!uri) return;
    if (uri.scheme !== 'file') {
      void vscode.window.showErrorMessage('MoE Lens: the model must be a local file.');
      return;
    }
    await this.use(uri.fsPath);
  }

  /**
   * node-llama-cpp's recommended MoE models, each with the best quantization that fits this machine (read from
   * the remote GGUF headers: size and placement plan), beside a free `hf:` URI. Offline the list still shows.
   */
  async chooseRecommended(): Promise<string | 'custom' | undefined> {
    type Item = vscode.QuickPickItem & { uri?: string };
    const models = await moeRecommendations();
    const pick = vscode.window.createQuickPick<Item>();
    pick.title = 'MoE Lens: Download Model';
    pick.placeholder = 'A Mixture-of-Experts model from node-llama-cpp\'s recommended list, or your own hf: URI';
    pick.matchOnDetail = true;
    // The header checks take a moment: the list stays while the user looks elsewhere (Escape closes it).
    pick.ignoreFocusOut = true;
    const custom: Item = { label: '$(edit) Enter a Hugging Face URI or URL…', alwaysShow: true };
    const rows = new Map<Recommendation, Item>(
      models.map((m) => [m, { label: m.name, description: 'checking size…', detail: firstSentence(m.description), uri: m.fileOptions[m.fileOptions.length - 1] }]),
    );
    const render = () => (pick.items = [custom, { label: 'Recommended MoE models', kind: vscode.QuickPickItemKind.Separator }, ...rows.values()]);
    render();
    pick.busy = true;
    let offline = 0;
    const probes = models.map(async (m) => {
      const best = await this.bestFit(m.fileOptions);
      const row = rows.get(m)!;
      if (!best) {
        offline++;
        row.description = `${quantOf(row.uri!)} · cannot check the size (offline or unreachable)`;
      } else {
        row.uri = best.uri;
        row.description = `${quantOf(best.uri)} · ${formatBytes(best.info.fileBytes)} · ${describeFit(best.fit)}`;
      }
      render();
    });
    const done = Promise.all(probes).then(() => {
      pick.busy = false;
      if (offline === models.length) pick.placeholder = 'Offline: sizes and placement cannot be checked; downloading needs a connection';
    });
    const chosen = await new Promise<Item | undefined>((resolve) => {
      pick.onDidAccept(() => resolve(pick.selectedItems[0]));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
    pick.dispose();
    void done;
    if (!chosen) return undefined;
    return chosen === custom ? 'custom' : chosen.uri;
  }

  /** The first (best-quality) file option whose plan fits this machine, else the smallest; undefined offline. */
  private async bestFit(options: string[]): Promise<{ uri: string; info: GgufModelInfo; fit: Fit } | undefined> {
    let last: { uri: string; info: GgufModelInfo; fit: Fit } | undefined;
    for (const uri of options) {
      try {
        const info = await this.inspect(uri);
        last = { uri, info, fit: fitOnMachine(info, os.totalmem()) };
        if (last.fit.kind !== 'too-big') return last;
      } catch (error) {
        this.log('debug', `header of ${uri}: ${(error as Error).message}`);
        if (!last) return undefined;
      }
    }
    return last;
  }

  /**
   * Downloads an `hf:` URI or https URL into global storage: sizes it first and asks (size, free disk, folder),
   * then a cancellable progress notification with percent, speed and time left; a failure names its cause and
   * offers Retry (which continues a partial file).
   */
  async download(uriArg?: string): Promise<string | undefined> {
    const recommended = uriArg ? undefined : await this.chooseRecommended();
    if (!uriArg && recommended === undefined) return undefined;
    const modelUri = (
      uriArg ??
      (recommended !== 'custom' ? recommended : undefined) ??
      (await vscode.window.showInputBox({
        title: 'MoE Lens: Download Model',
        prompt: 'Hugging Face model URI (hf:user/repo:quant or hf:user/repo/file.gguf) or an https:// URL of a .gguf',
        placeHolder: 'hf:unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M',
        ignoreFocusOut: true,
        validateInput: (v) => (/^(hf:[^\s/]+\/[^\s]+|https?:\/\/\S+)$/.test(v.trim()) ? undefined : 'Use hf:<user>/<repo>[:quant] or an https:// URL'),
      }))
    )?.trim();
    if (!modelUri) return undefined;
    const dir = vscode.Uri.joinPath(this.context.globalStorageUri, 'models').fsPath;
    for (;;) {
      try {
        // One notification: checking the URI and sizing it, the question (modal), then the transfer.
        const file = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'MoE Lens: Download Model', cancellable: true },
          async (progress, token) => {
            const signal = abortOn(token);
            progress.report({ message: `checking ${modelUri}…` });
            const plan = await planDownload(modelUri, dir, { signal });
            if (!(await this.confirmDownload(plan, dir))) return undefined;
            const name = path.basename(plan.file);
            let shown = 0;
            return download(plan, {
              signal,
              onProgress: (p) => {
                const share = p.totalBytes ? p.bytes / p.totalBytes : undefined;
                progress.report({ increment: share === undefined ? undefined : (share - shown) * 100, message: `${name} · ${downloadProgressText(p)}` });
                if (share !== undefined) shown = share;
              },
            });
          },
        );
        if (!file) return undefined;
        this.log('info', `Downloaded ${modelUri} to ${file}`);
        if (await this.use(file)) void vscode.window.showInformationMessage(`MoE Lens: downloaded ${path.basename(file)}; it is now the chat model.`);
        return file;
      } catch (error) {
        if (isAbort(error)) {
          this.log('info', `Download of ${modelUri} cancelled`);
          void vscode.window.showInformationMessage('MoE Lens: download cancelled.');
          return undefined;
        }
        const message = describeError(error);
        this.log('error', `Download of ${modelUri} failed: ${message}`);
        const again = await vscode.window.showErrorMessage(`MoE Lens: cannot download ${modelUri}: ${message}`, 'Retry');
        if (again !== 'Retry') return undefined;
      }
    }
  }

  /** The size, the free disk and the folder, before a byte is fetched (modal). */
  private async confirmDownload(plan: DownloadPlan, dir: string): Promise<boolean> {
    const size = plan.totalBytes === undefined ? 'size unknown (the server does not say)' : formatBytes(plan.totalBytes);
    const files = plan.parts.length > 1 ? ` in ${plan.parts.length} files` : '';
    const present = plan.presentBytes > 0 ? ` ${formatBytes(plan.presentBytes)} of it is already here (a download that stopped) and is not fetched again.` : '';
    const free = plan.freeBytes === undefined ? '' : ` ${formatBytes(plan.freeBytes)} free on that disk.`;
    const answer = await vscode.window.showInformationMessage(
      `Download ${path.basename(plan.file)}: ${size}${files}?`,
      { modal: true, detail: `From ${plan.uri}\nInto ${dir}.${free}${present}` },
      'Download',
    );
    return answer === 'Download';
  }
}

/** An AbortSignal that fires when VS Code's cancel button is pressed. */
function abortOn(token: vscode.CancellationToken): AbortSignal {
  const abort = new AbortController();
  token.onCancellationRequested(() => abort.abort());
  return abort.signal;
}

const quantOf = (uri: string) => /:([\w.-]+)$/.exec(uri)?.[1] ?? path.basename(uri).replace(/\.gguf$/i, '');
const firstSentence = (text: string) => text.split('\n').find((l) => /Mixture of Experts|parameters/i.test(l)) ?? text.split('\n')[0];

