// HTTP for the remote engine: JSON requests and Server-Sent Event streams to one server, with an idle timeout, a
// size limit on everything read, retries only while nothing has been received, and every failure as one EngineError
// whose message is one line naming the server and, where it said one, its own message. No vscode import.
//
// Invariants: a body is never read past `maxBytes` (the request is aborted there); a request that has delivered
// a byte of its answer is never retried (a stream is never replayed); the caller's signal aborts at once, also
// during a retry's wait, and surfaces as `aborted`.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { EngineError, isAbort } from './errors';

export interface HttpOptions {
  /** The server's base URL without a trailing slash (e.g. http://127.0.0.1:8080). */
  base: string;
  apiKey?: string;
  /** No byte for this long: `remote-timeout` (default 120 s). */
  timeoutMs?: number;
  /** Largest answer read, JSON or stream (default 64 MiB). */
  maxBytes?: number;
  /** Attempts for a request that got no answer at all (connection refused/reset, 502/503/504) (default 3). */
  attempts?: number;
  /** Waits before the 2nd, 3rd… attempt (default 200 ms, 800 ms). */
  retryDelaysMs?: number[];
}

export const DEFAULT_TIMEOUT_MS = 120_000;

/** True for host names and addresses only this machine can reach (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}
export const DEFAULT_MAX_BYTES = 64 * 2 ** 20;

/**
 * The AbortController of one request: aborted by the caller's signal, and after `idleMs` (or the last `touch`'s
 * ms) without a `touch()`, which sets `timedOut`. `done()` clears the timer and the listener.
 */
export function requestAbort(signal: AbortSignal | undefined, idleMs: number) {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const state = {
    controller,
    timedOut: false,
    touch(ms = idleMs): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        state.timedOut = true;
        controller.abort();
      }, ms);
    },
    done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
  return state;
}

/** The first line of a server's error body: OpenAI's `{error:{message}}`, `{error:"…"}`, FastAPI's `{detail}`, or text. */
export function serverMessage(body: string): string {
  let message: unknown = body;
  try {
    const json = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown; detail?: unknown };
    message =
      typeof json.error === 'object' && json.error !== null ? json.error.message : (json.error ?? json.message ?? (typeof json.detail === 'string' ? json.detail : JSON.stringify(json.detail ?? json)));
  } catch {
    // not JSON: the text itself
  }
  const line = String(message ?? '').replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Reads a fetch body up to `maxBytes`, then aborts with `response-too-large`. */
async function readLimited(response: Response, maxBytes: number, what: string, onBytes: () => void): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(what, maxBytes);
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    onBytes();
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(what, maxBytes);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

function tooLarge(what: string, maxBytes: number): EngineError {
  return new EngineError('response-too-large', `${what} sent more than ${Math.round(maxBytes / 2 ** 20)} MiB; refused`);
}

const RETRY_STATUS = new Set([502, 503, 504]);

/** A network failure's code (ECONNREFUSED, ECONNRESET, ENOTFOUND, UND_ERR_SOCKET…) from fetch's `cause` chain. */
export function networkCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++)
    if (typeof e.code === 'string') return e.code;
  return undefined;
}

export class HttpClient {
  readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(private readonly options: HttpOptions) {
    this.base = options.base.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  private headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'content-type': 'application/json' } : {}),
      accept: json ? 'application/json, text/event-stream' : 'application/json',
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
    };
  }

  /**
   * One request with the retry policy; `read` consumes the answer (and may call `activity` to push the idle timeout
   * back). Retries only when no answer came (no status line) or a gateway said 502/503/504 before any body.
   */
  private async request<T>(path: string, body: unknown, signal: AbortSignal | undefined, read: (response: Response, activity: () => void) => Promise<T>): Promise<T> {
    const url = `${this.base}${path}`;
    const delays = this.options.retryDelaysMs ?? [200, 800];
    const attempts = Math.max(1, this.options.attempts ?? 3);
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new EngineError('aborted', 'cancelled');
      const abort = requestAbort(signal, this.timeoutMs);
      const activity = () => abort.touch();
      activity();
      let answered = false;
      try {
        const response = await fetch(url, {
          method: body === undefined ? 'GET' : 'POST',
          headers: this.headers(body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: abort.controller.signal,
        });
        activity();
        if (!response.ok) {
          if (RETRY_STATUS.has(response.status) && attempt < attempts) {
            await response.body?.cancel().catch(() => undefined);
            throw Object.assign(new Error('retry'), { retry: true });
          }
          answered = true;
          const text = await readLimited(response, Math.min(this.maxBytes, 2 ** 20), `${this.base} (an error answer)`, activity).catch(() => '');
          throw this.statusError(response.status, serverMessage(text));
        }
        answered = true;
        return await read(response, activity);
      } catch (error) {
        if (isAbort(undefined, signal)) throw new EngineError('aborted', 'cancelled');
        if (abort.timedOut) throw new EngineError('remote-timeout', `${this.base} sent nothing for ${Math.round(this.timeoutMs / 1000)} s; gave up`);
        if (error instanceof EngineError) throw error;
        const retry = (error as { retry?: boolean }).retry === true;
        if (!answered && attempt < attempts && (retry || networkCode(error) !== undefined)) {
          await wait(delays[Math.min(attempt - 1, delays.length - 1)] ?? 0, signal);
          continue;
        }
        throw this.networkError(error, answered);
      } finally {
        abort.done();
      }
    }
  }

  private statusError(status: number, message: string): EngineError {
    const said = message ? `: ${message}` : '';
    if (status === 401 || status === 403)
      return new EngineError('remote-auth', `${this.base} refused the request (HTTP ${status}${status === 401 ? ', API key missing or wrong' : ''})${said}`);
    return new EngineError('remote-http', `${this.base} answered HTTP ${status}${said}`);
  }

  private networkError(error: unknown, answered: boolean): EngineError {
    const code = networkCode(error);
    if (answered) return new EngineError('remote-protocol', `${this.base} closed the connection in the middle of its answer${code ? ` (${code})` : ''}`);
    if (code === 'ECONNREFUSED') return new EngineError('remote-unavailable', `cannot connect to ${this.base}: connection refused (is the server running?)`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new EngineError('remote-unavailable', `cannot connect to ${this.base}: unknown host`);
    // fetch says "fetch failed" and puts the reason in `cause` (e.g. "bad port" for ports it refuses to use).
    const cause = (error as { cause?: { message?: unknown } })?.cause?.message;
    return new EngineError('remote-unavailable', `cannot reach ${this.base}: ${code ?? (typeof cause === 'string' ? cause : undefined) ?? (error as Error)?.message ?? String(error)}`);
  }

  /** GET (body undefined) or POST of JSON; the answer parsed as JSON. */
  async json<T>(path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request(path, body, signal, async (response, activity) => {
      const text = await readLimited(response, this.maxBytes, this.base, activity);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new EngineError('remote-protocol', `${this.base}${path} answered with something that is not JSON: ${serverMessage(text.slice(0, 200)) || 'an empty body'}`);
      }
    });
  }

  /**
   * POST of JSON answered with an SSE stream (or, from a server that ignores `stream`, one JSON body): each event's
   * data (or the body) goes to `onData` as text; `[DONE]` ends it. Returns whether `[DONE]` (or a body) was seen. An
   * error `onData` throws ends the stream and is thrown (an EngineError as it is).
   */
  async stream(path: string, body: unknown, onData: (data: string) => void, signal?: AbortSignal): Promise<boolean> {
    return this.request(path, body, signal, async (response, activity) => {
      if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
        onData(await readLimited(response, this.maxBytes, this.base, activity));
        return true;
      }
      let finished = false;
      let failure: EngineError | undefined;
      const parser = createParser({
        maxBufferSize: this.maxBytes,
        onEvent: (event: EventSourceMessage) => {
          if (failure || finished) return;
          if (event.data === '[DONE]') {
            finished = true;
            return;
          }
          try {
            onData(event.data);
          } catch (e) {
            failure = e instanceof EngineError ? e : new EngineError('remote-protocol', `${this.base} sent an event this client cannot read: ${(e as Error).message}`);
          }
        },
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') failure ??= tooLarge(this.base, this.maxBytes);
        },
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let bytes = 0;
      try {
        while (!failure && !finished) {
          const { done, value } = await reader.read();
          if (done) break;
          activity();
          bytes += value.byteLength;
          if (bytes > this.maxBytes) failure = tooLarge(this.base, this.maxBytes);
          else parser.feed(decoder.decode(value, { stream: true }));
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
      if (failure) throw failure;
      return finished;
    });
  }
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
