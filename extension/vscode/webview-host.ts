// The host side of every webview (chat view, lens tab, evals tab, model, importance and atlas panels): one
// connection per view that gates posts on the page's `ready`, keeps a bounded queue until then, answers requests
// by id, and passes the page's other messages to the view's handler. No `vscode` at run time: the view hands it
// its webview (and `PanelHost` its panel factory), so it is tested against plain fakes.
import type * as vscode from 'vscode';
import type { LogLevel } from '../engine/types';
import type { RequestMessage, ResponseMessage, ToHost, ToView, ViewProtocol } from '../protocol';

/** What the connection needs of a `vscode.Webview`. */
export type WebviewPort = Pick<vscode.Webview, 'postMessage' | 'onDidReceiveMessage'>;


export interface WebviewHostOptions<P extends ViewProtocol> {
  /** The page's notifications (its `type` is a string; the handler checks the rest: the page is untrusted). */
  onMessage?(message: P['toHost']): void;
  /** Answers a request; its result (or error) goes back with the request's id, to the page that asked. */
  onRequest?(request: P['request']): P['response'] | undefined | Promise<P['response'] | undefined>;
  /** The page said `ready`: post what it needs to start (before the queue is flushed). */
  onReady?(): void;
  /** Which posts made before `ready` are kept for it (default: all). The others are dropped: `onReady` covers them. */
  keepUntilReady?(message: P['toView']): boolean;
  /** The most posts kept until `ready`; the oldest go first (default 50). */
  queueLimit?: number;
  log?(level: LogLevel, message: string): void;
}

const describe = (error: unknown) => (error instanceof Error ? (error.stack ?? error.message) : String(error));

export class WebviewHost<P extends ViewProtocol> {
  private webview: WebviewPort | undefined;
  private subscription: { dispose(): void } | undefined;
  private ready = false;
  /** Counts pages: an answer goes only to the page that asked (a reloaded page does not know its id). */
  private generation = 0;
  private readonly queue: P['toView'][] = [];

  constructor(private readonly options: WebviewHostOptions<P> = {}) {}

  /** A (new) page in `webview`: not ready until it says so. */
  attach(webview: WebviewPort): void {
    this.detach();
    this.webview = webview;
    this.generation++;
    this.subscription = webview.onDidReceiveMessage((message: unknown) => this.receive(message, this.generation));
  }

  /** The page went away (hidden without retained context, or reloaded): posts wait for its next `ready`. */
  reload(): void {
    this.ready = false;
    this.generation++;
  }

  /** The webview is gone: nothing is posted or queued until the next `attach`. */
  detach(): void {
    this.subscription?.dispose();
    this.subscription = this.webview = undefined;
    this.ready = false;
    this.queue.length = 0;
  }

  get isReady(): boolean {
    return !!this.webview && this.ready;
  }

  /** Posts now when the page is ready; before that keeps it (see `keepUntilReady`); without a webview drops it. */
  post(message: P['toView']): void {
    if (!this.webview) return;
    if (this.ready) return this.send(message);
    if (this.options.keepUntilReady && !this.options.keepUntilReady(message)) return;
    this.queue.push(message);
    const limit = this.options.queueLimit ?? 50;
    if (this.queue.length > limit) this.queue.splice(0, this.queue.length - limit);
  }

  dispose(): void {
    this.detach();
  }

  private send(message: ToView<P>): void {
    this.webview?.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.options.log?.('debug', `Webview dropped ${message.type}`);
      },
      (error: unknown) => this.options.log?.('warn', `postMessage(${message.type}) failed: ${String(error)}`),
    );
  }

  private receive(raw: unknown, generation: number): void {
    if (!raw || typeof raw !== 'object' || typeof (raw as { type?: unknown }).type !== 'string') return;
    const message = raw as ToHost<P>;
    try {
      if (message.type === 'ready') {
        this.ready = true;
        this.options.onReady?.();
        for (const queued of this.queue.splice(0)) this.send(queued);
      } else if (message.type === 'request') {
        const { id, request } = message as RequestMessage<P>;
        if (Number.isSafeInteger(id)) void this.answer(id, request, generation);
      } else this.options.onMessage?.(message as P['toHost']);
    } catch (error) {
      this.options.log?.('error', `Handling ${message.type} failed: ${describe(error)}`);
    }
  }

  private async answer(id: number, request: P['request'], generation: number): Promise<void> {
    let reply: ResponseMessage<P>;
    try {
      const response = this.options.onRequest ? await this.options.onRequest(request) : undefined;
      reply = response === undefined ? { type: 'response', id } : { type: 'response', id, response };
    } catch (error) {
      this.options.log?.('error', `A webview request failed: ${describe(error)}`);
      reply = { type: 'response', id, error: error instanceof Error ? error.message : String(error) };
    }
    if (generation === this.generation && this.ready) this.send(reply);
  }
}

/**
 * One editor-tab panel of a kind with its connection: `open()` creates it (with `create`) or reveals it; a hidden
 * panel's page is reloaded when shown again, so posts wait for its `ready`; closing it drops it.
 */
export class PanelHost<P extends ViewProtocol> extends WebviewHost<P> {
  private current: vscode.WebviewPanel | undefined;

  constructor(
    /** Makes the panel; gets `open`'s arguments (the column and focus to show it with). */
    private readonly create: (column?: vscode.ViewColumn, preserveFocus?: boolean) => vscode.WebviewPanel,
    options: WebviewHostOptions<P> = {},
  ) {
    super(options);
  }

  get panel(): vscode.WebviewPanel | undefined {
    return this.current;
  }

  /** The panel, created when there is none (`created`), else revealed. */
  open(column?: vscode.ViewColumn, preserveFocus?: boolean): { panel: vscode.WebviewPanel; created: boolean } {
    if (this.current) {
      this.current.reveal(column, preserveFocus);
      return { panel: this.current, created: false };
    }
    const panel = (this.current = this.create(column, preserveFocus));
    this.attach(panel.webview);
    panel.onDidChangeViewState(() => {
      if (!panel.visible) this.reload();
    });
    panel.onDidDispose(() => {
      if (this.current !== panel) return;
      this.current = undefined;
      this.detach();
    });
    return { panel, created: true };
  }

  override dispose(): void {
    const panel = this.current;
    this.current = undefined;
    super.dispose();
    panel?.dispose();
  }
}
