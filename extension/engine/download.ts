// Downloading a model: `hf:` URIs (resolved with node-llama-cpp's own resolver) and http(s) URLs of a .gguf, a split
// GGUF's parts included. Every failure is a DownloadError whose message names its cause (no network, the name does
// not resolve, refused, 404, stalled, disk full) within seconds; a file being written is named `<file>.download`
// and renamed only when complete, so nothing half-written ever looks like a model. No vscode import.
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineError } from './errors';
import { networkCode, requestAbort } from './http';
import { importNodeLlamaCppFile } from './recommended';
import { formatBytes, formatDuration, formatPercent } from '../format';
import type { EngineErrorCode } from './types';

export type DownloadFailure = 'offline' | 'refused' | 'timeout' | 'stalled' | 'not-found' | 'http' | 'disk-full' | 'write-failed' | 'bad-uri';

const CODES: Record<DownloadFailure, EngineErrorCode> = {
  offline: 'remote-unavailable',
  refused: 'remote-unavailable',
  timeout: 'remote-timeout',
  stalled: 'remote-timeout',
  'not-found': 'remote-http',
  http: 'remote-http',
  'disk-full': 'internal',
  'write-failed': 'internal',
  'bad-uri': 'remote-protocol',
};

/** A download that failed, with its cause (`reason`) and a one-line message that says it. */
export class DownloadError extends EngineError {
  constructor(
    readonly reason: DownloadFailure,
    message: string,
  ) {
    super(CODES[reason], message);
    this.name = 'DownloadError';
  }
}

export interface DownloadTimeouts {
  /** Resolving the URI, reaching the server, the answer's headers (default 15 s). */
  connectMs?: number;
  /** No byte of the body for this long: `stalled` (default 30 s). */
  stallMs?: number;
}

export interface DownloadPart {
  url: string;
  /** Where the part goes (the entry point is the first part). */
  file: string;
  /** Its size, from the server; undefined when the server does not say. */
  bytes: number | undefined;
}

export interface DownloadPlan {
  uri: string;
  /** The file to load: the only one, or a split model's first part. */
  file: string;
  parts: DownloadPart[];
  /** The sum of the parts' sizes; undefined when a server did not say. */
  totalBytes: number | undefined;
  /** Bytes already on disk: complete parts and parts a failed download left to continue. */
  presentBytes: number;
  /** Free space on the disk of the target folder (undefined where the platform cannot say). */
  freeBytes: number | undefined;
}

export interface DownloadProgress {
  bytes: number;
  totalBytes: number | undefined;
  /** Over the last few seconds. */
  bytesPerSecond: number;
  /** Undefined until the speed and size are known. */
  secondsLeft: number | undefined;
}

/** The suffix of a file being written (never `.gguf`). */
export const PARTIAL_SUFFIX = '.download';

const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Looks a host up, failing with `offline` within `ms`: the quick check before anything else is tried. */
export async function checkHost(host: string, ms = 5000): Promise<void> {
  const lookup = dns.promises.lookup(host).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error,
  );
  const error = await Promise.race([lookup, new Promise<'slow'>((resolve) => setTimeout(resolve, ms, 'slow').unref())]);
  if (error === 'slow') throw new DownloadError('offline', `cannot reach ${host}: no answer from DNS within ${ms / 1000} s (offline?)`);
  if (error) throw new DownloadError('offline', `cannot reach ${host}: its name does not resolve (${error.code ?? error.message}: offline, or DNS is blocked)`);
}

/** The one sentence for a failed request, from fetch's error and its cause's code. */
export function describeNetworkError(error: unknown, host: string): DownloadError {
  if (error instanceof DownloadError) return error;
  const cause = (error as { cause?: { message?: string } })?.cause;
  const code = networkCode(error);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DownloadError('offline', `cannot reach ${host}: its name does not resolve (${code}: offline, or DNS is blocked)`);
    case 'ECONNREFUSED':
      return new DownloadError('refused', `${host} refused the connection (nothing listens there)`);
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return new DownloadError('offline', `cannot reach ${host}: no route to it (${code}: offline?)`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return new DownloadError('refused', `${host} closed the connection`);
    case 'ENOSPC':
      return new DownloadError('disk-full', 'the disk is full');
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new DownloadError('timeout', `${host} did not answer (timed out)`);
    default:
      break; // any other code (or none): the error's own message, below
  }
  const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
  return new DownloadError('http', `${host}: ${message}`);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The server closed a kept-alive connection as the request went out: sent again once, on a new connection. */
const staleSocket = (error: unknown) => ['UND_ERR_SOCKET', 'ECONNRESET'].includes(networkCode(error) ?? '');

type Abort = ReturnType<typeof requestAbort>;

/**
 * A fetch whose headers must come within `ms`; the caller's signal aborts it as `aborted`. The caller ends the
 * returned `abort` (its timer can be touched for the body).
 */
async function request(url: string, init: RequestInit, ms: number, signal?: AbortSignal, retry = true): Promise<{ response: Response; abort: Abort }> {
  const abort = requestAbort(signal, ms);
  abort.touch();
  try {
    return { response: await fetch(url, { ...init, signal: abort.controller.signal, redirect: 'follow' }), abort };
  } catch (error) {
    abort.done();
    if (signal?.aborted) throw cancelled();
    if (abort.timedOut) throw new DownloadError('timeout', `${hostOf(url)} did not answer within ${ms / 1000} s`);
    if (retry && staleSocket(error)) return request(url, init, ms, signal, false);
    throw describeNetworkError(error, hostOf(url));
  }
}

const cancelled = () => new EngineError('aborted', 'Download cancelled.');

function httpFailure(response: Response, url: string): DownloadError {
  if (response.status === 404) return new DownloadError('not-found', `${hostOf(url)} has no such file (404 Not Found): ${url.replace(/\?.*$/, '')}`);
  if (response.status === 401 || response.status === 403)
    return new DownloadError('http', `${hostOf(url)} refused access (${response.status}): the model may be gated; accept its licence on Hugging Face and set HF_TOKEN`);
  return new DownloadError('http', `${hostOf(url)} answered ${response.status} ${response.statusText}`.trim());
}

interface ResolvedUri {
  url: string;
  fileName: string;
}

type NodeLlamaCppUri = {
  parseModelUri(uri: string): { type: 'resolved' | 'unresolved'; fullFilename?: string } | null;
  resolveParsedModelUri(parsed: unknown, options: { signal?: AbortSignal }): Promise<{ resolvedUrl: string; fullFilename: string }>;
};

/** An `hf:` URI through node-llama-cpp's resolver (its file naming too); an http(s) URL as it is. */
async function resolveUri(uri: string, connectMs: number, signal?: AbortSignal): Promise<ResolvedUri> {
  if (/^https?:\/\//i.test(uri)) {
    const name = decodeURIComponent(new URL(uri).pathname.split('/').pop() ?? '');
    if (!/\.gguf$/i.test(name)) throw new DownloadError('bad-uri', `${uri} does not name a .gguf file`);
    await checkHost(new URL(uri).hostname.replace(/^\[|\]$/g, ''));
    return { url: uri, fileName: name };
  }
  if (!/^hf:/i.test(uri)) throw new DownloadError('bad-uri', `"${uri}" is neither an hf: URI nor an http(s) URL`);
  const { parseModelUri, resolveParsedModelUri } = await importNodeLlamaCppFile<NodeLlamaCppUri>('utils/parseModelUri.js');
  const { resolveHuggingFaceEndpoint } = await importNodeLlamaCppFile<{ resolveHuggingFaceEndpoint(): string }>('utils/modelDownloadEndpoints.js');
  const parsed = parseModelUri(uri);
  if (!parsed) throw new DownloadError('bad-uri', `"${uri}" is not a model URI (hf:<user>/<repo>:<quant> or hf:<user>/<repo>/<file>.gguf)`);
  const endpoint = resolveHuggingFaceEndpoint();
  await checkHost(new URL(endpoint).hostname);
  const timeout = AbortSignal.timeout(connectMs);
  try {
    const resolved = await resolveParsedModelUri(parsed, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    return { url: resolved.resolvedUrl, fileName: resolved.fullFilename };
  } catch (error) {
    if (signal?.aborted) throw cancelled();
    if (timeout.aborted) throw new DownloadError('timeout', `${hostOf(endpoint)} did not resolve ${uri} within ${connectMs / 1000} s`);
    const message = (error as Error).message ?? String(error);
    if (/: 404\b/.test(message)) throw new DownloadError('not-found', `Hugging Face has no ${uri} (404: check the user, repo and quantization)`);
    throw new DownloadError('http', `cannot resolve ${uri}: ${message.replace(/\s+/g, ' ')}`);
  }
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch {
    return undefined;
  }
}

/** Free bytes on the disk holding `dir` (undefined where statfs is missing). */
export async function freeDiskBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fs.promises.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export interface PlanOptions extends DownloadTimeouts {
  signal?: AbortSignal;
  /** Free space on the target disk (default: statfs). */
  freeBytes?: (dir: string) => Promise<number | undefined>;
}

/**
 * What a download would write and how big it is, asked of the server (HEAD) before a byte is fetched: unreachable,
 * missing files and too little disk fail here, within seconds.
 */
export async function planDownload(uri: string, dir: string, options: PlanOptions = {}): Promise<DownloadPlan> {
  const connectMs = options.connectMs ?? 15_000;
  const resolved = await resolveUri(uri.trim(), connectMs, options.signal);
  const split = SPLIT.exec(new URL(resolved.url).pathname);
  const count = split ? Number(split[2]) : 1;
  const parts: DownloadPart[] = [];
  for (let i = 1; i <= count; i++) {
    const tag = (s: string) => (split ? s.replace(SPLIT, `-${String(i).padStart(5, '0')}-of-${split[2]}.gguf`) : s);
    const url = new URL(resolved.url);
    url.pathname = tag(url.pathname);
    const { response, abort } = await request(url.href, { method: 'HEAD' }, connectMs, options.signal);
    abort.done();
    abort.controller.abort();
    if (!response.ok) throw httpFailure(response, url.href);
    // Hugging Face names the size of a file on its CDN in x-linked-size (the redirect's), else content-length.
    const length = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length'));
    parts.push({ url: url.href, file: path.join(dir, tag(resolved.fileName)), bytes: Number.isFinite(length) && length > 0 ? length : undefined });
  }
  const totalBytes = parts.every((p) => p.bytes !== undefined) ? parts.reduce((n, p) => n + p.bytes!, 0) : undefined;
  let presentBytes = 0;
  for (const p of parts) {
    const done = await fileSize(p.file);
    presentBytes += done !== undefined && done === p.bytes ? done : ((await fileSize(p.file + PARTIAL_SUFFIX)) ?? 0);
  }
  await fs.promises.mkdir(dir, { recursive: true });
  const freeBytes = await (options.freeBytes ?? freeDiskBytes)(dir);
  if (totalBytes !== undefined && freeBytes !== undefined && totalBytes - presentBytes > freeBytes)
    throw new DownloadError('disk-full', `not enough disk space: ${formatBytes(totalBytes - presentBytes)} to write, ${formatBytes(freeBytes)} free in ${dir}`);
  return { uri, file: parts[0].file, parts, totalBytes, presentBytes, freeBytes };
}

export interface DownloadOptions extends DownloadTimeouts {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Least time between two progress events (default 250 ms; the last one always comes). */
  progressEveryMs?: number;
}

/** Measures bytes per second over a sliding window of the last few seconds. */
class Speed {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000) {}
  add(bytes: number, t = Date.now()): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    return dt > 0 ? (bytes - first.bytes) / dt : 0;
  }
}

/**
 * Downloads the plan's parts one after another (a complete part is kept; a part a failed attempt left is continued
 * with a Range request where the server allows it) and returns the file to load. On cancel, a 404, a full disk or
 * a write error the partial file is deleted; after a network failure it stays (as `.download`) for Retry.
 */
export async function download(plan: DownloadPlan, options: DownloadOptions = {}): Promise<string> {
  const connectMs = options.connectMs ?? 15_000;
  const stallMs = options.stallMs ?? 30_000;
  const every = options.progressEveryMs ?? 250;
  const speed = new Speed();
  let bytes = plan.presentBytes;
  let lastReport = 0;
  const report = (force = false) => {
    const now = Date.now();
    // Throttled before the speed sample: report runs for every chunk of the body.
    if (!force && now - lastReport < every) return;
    lastReport = now;
    const bytesPerSecond = speed.add(bytes, now);
    const left = plan.totalBytes !== undefined && bytesPerSecond > 0 ? (plan.totalBytes - bytes) / bytesPerSecond : undefined;
    options.onProgress?.({ bytes, totalBytes: plan.totalBytes, bytesPerSecond, secondsLeft: left });
  };
  report(true);
  for (const part of plan.parts) {
    if (part.bytes !== undefined && (await fileSize(part.file)) === part.bytes) continue;
    const partial = part.file + PARTIAL_SUFFIX;
    const have = (await fileSize(partial)) ?? 0;
    try {
      const written = await fetchPart(part, partial, have, { connectMs, stallMs, signal: options.signal }, (n) => {
        bytes += n;
        report();
      }, (lost) => (bytes -= lost));
      if (part.bytes !== undefined && written !== part.bytes)
        throw new DownloadError('http', `${hostOf(part.url)} sent ${formatBytes(written)} of ${formatBytes(part.bytes)}`);
      await fs.promises.rename(partial, part.file);
    } catch (error) {
      const failure = options.signal?.aborted ? cancelled() : error instanceof DownloadError || error instanceof EngineError ? error : describeNetworkError(error, hostOf(part.url));
      const keep = failure instanceof DownloadError && ['offline', 'refused', 'timeout', 'stalled'].includes(failure.reason);
      if (!keep) await fs.promises.rm(partial, { force: true });
      throw failure;
    }
  }
  report(true);
  return plan.file;
}

/** One part into `partial`: continued from `have` bytes when the server honours Range, else from the start. */
async function fetchPart(
  part: DownloadPart,
  partial: string,
  have: number,
  o: { connectMs: number; stallMs: number; signal?: AbortSignal },
  onBytes: (n: number) => void,
  onRestart: (lost: number) => void,
): Promise<number> {
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const { response, abort } = await request(part.url, { headers }, o.connectMs, o.signal);
  // From here on, a timeout is a body that stopped coming.
  const arm = () => abort.touch(o.stallMs);
  let handle: fs.promises.FileHandle | undefined;
  try {
    if (!response.ok) throw httpFailure(response, part.url);
    const resumed = have > 0 && response.status === 206;
    if (have > 0 && !resumed) onRestart(have);
    let written = resumed ? have : 0;
    handle = await fs.promises.open(partial, resumed ? 'a' : 'w');
    const reader = response.body?.getReader();
    if (!reader) throw new DownloadError('http', `${hostOf(part.url)} sent no body`);
    arm();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arm();
      await handle.write(value);
      written += value.byteLength;
      onBytes(value.byteLength);
    }
    return written;
  } catch (error) {
    if (o.signal?.aborted) throw cancelled();
    if (abort.timedOut) throw new DownloadError('stalled', `${hostOf(part.url)} sent nothing for ${o.stallMs / 1000} s: the transfer stalled (connection lost?)`);
    if ((error as NodeJS.ErrnoException)?.code === 'ENOSPC') throw new DownloadError('disk-full', `the disk is full (writing ${path.basename(part.file)})`);
    if (error instanceof DownloadError) throw error;
    if ((error as NodeJS.ErrnoException)?.syscall === 'write' || (error as NodeJS.ErrnoException)?.syscall === 'open')
      throw new DownloadError('write-failed', `cannot write ${partial}: ${(error as Error).message}`);
    throw describeNetworkError(error, hostOf(part.url));
  } finally {
    abort.done();
    abort.controller.abort();
    await handle?.close();
  }
}

/** For the progress notification: "42% · 1.20 GiB of 2.87 GiB · 11.3 MiB/s · 2 min 30 s left" */
export function downloadProgressText(p: DownloadProgress): string {
  const speed = p.bytesPerSecond > 0 ? ` · ${formatBytes(p.bytesPerSecond)}/s` : '';
  const left = p.secondsLeft !== undefined && Number.isFinite(p.secondsLeft) ? ` · ${formatDuration(p.secondsLeft * 1000)} left` : '';
  if (!p.totalBytes) return `${formatBytes(p.bytes)}${speed}`;
  return `${formatPercent(p.bytes / p.totalBytes, 0)} · ${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}${speed}${left}`;
}
