// The header of a GGUF that is not on disk — an http(s) URL or a Hugging Face URI (`hf:owner/repo:QUANT`,
// `hf:owner/repo/file.gguf`) — as the same GgufLayout that readGgufLayout gives for a local file, so moeShape,
// placementOf and prunedSize work on it unchanged. Only the header travels: a few range requests, never the weights.
//
// node-llama-cpp does the work: its URI resolver (the Hugging Face manifest for `:QUANT`, the endpoint from
// MODEL_ENDPOINT or HF_ENDPOINT), its split-part names (`-00001-of-00003.gguf`), its GGUF parser over its network
// reader (which gives the raw header bytes back). Two things are ours: a probe of every part first (a 4-byte range
// request: a server that ignores Range would otherwise stream the whole model, and 404s, non-GGUF answers and
// unreachable hosts become one EngineError line), and a reader that grows its buffer by doubling from 64 KiB rather
// than by node-llama-cpp's fixed 4 MiB steps (a header is read in a handful of requests, with at most about twice its
// size transferred). A split model's layout is its first part's header with every part's tensors (offsets within
// their part) and the parts' sizes summed. No vscode import.
import path from 'node:path';
import type { GgufFileInfo, GgufTensorInfo } from 'node-llama-cpp';
import { EngineError, isAbort } from './errors';
import { ARRAY, GGML_TYPE_SIZE, STRING, VALUE_SIZE } from './gguf-header';
import { networkCode } from './http';
import type { GgufLayout } from './prune';
import { importNodeLlamaCppFile } from './recommended';

export interface RemoteHeader {
  layout: GgufLayout;
  /** node-llama-cpp's view of the same header (all parts' tensors), for its context-size estimates. */
  info: GgufFileInfo;
  /** The URL of every part, first part first. */
  parts: string[];
  /** Bytes received from the server(s), all requests together. */
  bytesFetched: number;
}

export interface RemoteHeaderOptions {
  signal?: AbortSignal;
  /** Longest wait for the whole header of one model (default 2 minutes): `remote-timeout` after it. */
  timeoutMs?: number;
}

const FIRST_STEP = 64 << 10;
/** Real headers (a 256k-token vocabulary included) are tens of MiB at most: a longer claim is refused, not fetched. */
const MAX_HEADER = 256 << 20;
const RETRY = { retries: 1, minTimeout: 300, maxTimeout: 1000 };

const DEFAULT_TIMEOUT_MS = 120_000;
/** Split models on the hubs have a few dozen parts at most. */
const MAX_PARTS = 256;

type ParsedUri = { type: 'resolved'; resolvedUrl: string } | { type: 'unresolved' } | null;
interface NlcUri {
  parseModelUri(uri: string, convertUrlToSupportedUri?: boolean): ParsedUri;
  resolveParsedModelUri(uri: ParsedUri, options: { signal?: AbortSignal }): Promise<{ resolvedUrl: string } | null>;
}
interface NetworkReader {
  _buffer: Buffer;
  _fetchToExpandBufferUpToOffset(endOffset: number, extra?: number): Promise<void>;
}
type NetworkReaderClass = new (options: { url: string; retryOptions: typeof RETRY; signal?: AbortSignal }) => NetworkReader;
type ParseGguf = (options: { fileReader: NetworkReader; readTensorInfo: boolean; logWarnings: boolean }) => Promise<GgufFileInfo>;
type GetKey = (metadata: unknown, key: string) => unknown;

/** What node-llama-cpp offers here but does not export. */
async function nodeLlamaCppPieces() {
  const [uri, endpoints, reader, parser, splits, getKey] = await Promise.all([
    importNodeLlamaCppFile<NlcUri>('utils/parseModelUri.js'),
    importNodeLlamaCppFile<{ resolveHuggingFaceEndpoint(): string }>('utils/modelDownloadEndpoints.js'),
    importNodeLlamaCppFile<{ GgufNetworkFetchFileReader: NetworkReaderClass }>('gguf/fileReaders/GgufNetworkFetchFileReader.js'),
    importNodeLlamaCppFile<{ parseGguf: ParseGguf }>('gguf/parser/parseGguf.js'),
    importNodeLlamaCppFile<{ resolveSplitGgufParts(url: string): string[] }>('gguf/utils/resolveSplitGgufParts.js'),
    importNodeLlamaCppFile<{ getGgufMetadataKeyValue: GetKey }>('gguf/utils/getGgufMetadataKeyValue.js'),
  ]);
  // Each fetch asks for as many bytes as are buffered already (at least 64 KiB), instead of 4 MiB more each time.
  class DoublingReader extends reader.GgufNetworkFetchFileReader {
    override _fetchToExpandBufferUpToOffset(endOffset: number): Promise<void> {
      if (endOffset > MAX_HEADER) return Promise.reject(new Error(`its header claims more than ${MAX_HEADER >> 20} MiB`));
      return super._fetchToExpandBufferUpToOffset(endOffset, Math.max(FIRST_STEP, this._buffer.length));
    }
  }
  return { ...uri, hfEndpoint: endpoints.resolveHuggingFaceEndpoint, DoublingReader, parseGguf: parser.parseGguf, resolveSplitGgufParts: splits.resolveSplitGgufParts, getKey: getKey.getGgufMetadataKeyValue };
}

const hostOf = (url: string) => new URL(url).host;
/** A part's file name: the URL's last path segment, without the query. */
const fileNameOf = (url: string) => decodeURIComponent(path.posix.basename(new URL(url).pathname));

/** The first line of an error from node-llama-cpp, without its restatement of the URI, with the network code where there is one. */
function reason(error: unknown): string {
  const code = networkCode(error);
  const message = ((error as Error).message?.split('\n')[0] ?? String(error)).replace(/^Failed to fetch manifest for resolving URI "[^"]*": (TypeError: )?/, '');
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/**
 * Asks for the first 4 bytes of `url`: the server must answer 206 with "GGUF" and the file's size in Content-Range.
 * Returns the size.
 */
async function probe(url: string, label: string, signal: AbortSignal | undefined, count: (n: number) => void): Promise<number> {
  const host = hostOf(url);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let response: Response;
    try {
      response = await fetch(url, { headers: { Range: 'bytes=0-3', accept: '*/*' }, signal: controller.signal });
    } catch (error) {
      if (signal?.aborted || isAbort(error)) throw new EngineError('aborted', `reading the header of ${label} was cancelled`);
      throw new EngineError('remote-unavailable', `cannot reach ${host} for ${label}: ${networkCode(error) ?? (error as Error).message}`);
    }
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (response.status === 404) throw new EngineError('file-not-found', `${label} was not found on ${host} (${status})`);
    if (response.status === 401 || response.status === 403)
      throw new EngineError('remote-auth', `${host} refused ${label} (${status}): a gated model needs access and a Hugging Face token`);
    if (!response.ok) throw new EngineError('remote-http', `${host} answered ${status} for ${label}`);
    if (response.status !== 206)
      throw new EngineError('remote-protocol', `${host} ignores range requests (it answered ${status} with the whole file to a request for 4 bytes): reading the header of ${label} would download the whole model`);
    // At most the 4 bytes asked for are read, whatever the server sends.
    const reader = response.body?.getReader();
    const head: Buffer[] = [];
    let got = 0;
    while (reader && got < 4) {
      const { done, value } = await reader.read();
      if (done) break;
      head.push(Buffer.from(value));
      got += value.length;
      count(value.length);
    }
    if (Buffer.concat(head).subarray(0, 4).toString('latin1') !== 'GGUF')
      throw new EngineError('not-gguf', `${label} is not a GGUF model file (${host} answered ${response.headers.get('content-type') ?? 'something else'})`);
    const size = Number(response.headers.get('content-range')?.split('/')[1]);
    if (!Number.isSafeInteger(size) || size < 24)
      throw new EngineError('remote-protocol', `${host} gave no usable file size for ${label} (Content-Range: ${response.headers.get('content-range') ?? 'none'})`);
    return size;
  } finally {
    controller.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * The key-value entries of a raw header as readGgufLayout lists them: each entry's byte span, and its value as
 * node-llama-cpp decoded it (scalars and strings; arrays of 8- to 32-bit integers; undefined for other arrays).
 */
function kvEntries(header: Buffer, metadata: unknown, getKey: GetKey): GgufLayout['kvs'] {
  const kvCount = Number(header.readBigUInt64LE(16));
  const u64 = (at: number) => Number(header.readBigUInt64LE(at));
  const kvs: GgufLayout['kvs'] = [];
  let pos = 24;
  for (let i = 0; i < kvCount; i++) {
    const start = pos;
    const keyLength = u64(pos);
    const key = header.toString('utf8', pos + 8, pos + 8 + keyLength);
    const type = header.readUInt32LE(pos + 8 + keyLength);
    pos += 12 + keyLength;
    let elem: number | undefined;
    let count = 0;
    if (type === ARRAY) {
      elem = header.readUInt32LE(pos);
      count = u64(pos + 4);
      pos += 12;
      if (elem === STRING) for (let j = 0; j < count; j++) pos += 8 + u64(pos);
      else pos += count * VALUE_SIZE[elem];
    } else pos += type === STRING ? 8 + u64(pos) : VALUE_SIZE[type];
    if (pos > header.length || VALUE_SIZE[elem ?? type] === undefined) throw new RangeError(`key ${i} runs past the header`);
    const decoded = getKey(metadata, key) as GgufLayout['kvs'][number]['value'];
    const integers = elem !== undefined && ![STRING, 6, 10, 11, 12].includes(elem);
    const value = elem === undefined ? decoded : count === 0 ? [] : integers && Array.isArray(decoded) ? [...decoded] : undefined;
    kvs.push({ key, type, start, end: pos, value });
  }
  return kvs;
}

function layoutTensor(t: GgufTensorInfo, label: string) {
  const shape = t.dimensions.map(Number);
  const traits = GGML_TYPE_SIZE[t.ggmlType];
  if (!traits) throw new EngineError('truncated-gguf', `${label}: tensor ${JSON.stringify(t.name.slice(0, 64))} has the unknown ggml type ${t.ggmlType}`);
  const [blockBytes, blockElements] = traits;
  return { name: t.name, shape, type: t.ggmlType as number, offset: Number(t.fileOffset), bytes: (shape.reduce((a, b) => a * b, 1) / blockElements) * blockBytes };
}

/** The URL of a model's first part: an http(s) URL as given, a Hugging Face URI resolved (its manifest for `:QUANT`). */
async function resolveUrl(model: string, nlc: Awaited<ReturnType<typeof nodeLlamaCppPieces>>, signal?: AbortSignal): Promise<string> {
  if (/^https?:\/\//i.test(model)) return model;
  try {
    const resolved = await nlc.resolveParsedModelUri(nlc.parseModelUri(model), { signal });
    if (!resolved) throw new Error('not a Hugging Face URI (hf:owner/repo:QUANT or hf:owner/repo/file.gguf)');
    return resolved.resolvedUrl;
  } catch (error) {
    if (signal?.aborted) throw new EngineError('aborted', `resolving ${model} was cancelled`);
    throw new EngineError('remote-unavailable', `cannot resolve ${model} at ${hostOf(nlc.hfEndpoint())}: ${reason(error)}`);
  }
}

/** Reads the header of a remote GGUF (every part of a split one). Every failure is one EngineError line. */
export async function readRemoteLayout(model: string, options: RemoteHeaderOptions = {}): Promise<RemoteHeader> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await readLayout(model, signal);
  } catch (error) {
    if (timeout.aborted && !options.signal?.aborted)
      throw new EngineError('remote-timeout', `reading the header of ${model} took longer than ${timeoutMs / 1000} s: the server stalled or is too slow`);
    throw error;
  }
}

async function readLayout(model: string, signal: AbortSignal): Promise<RemoteHeader> {
  const nlc = await nodeLlamaCppPieces();
  const first = await resolveUrl(model, nlc, signal);
  const parts = nlc.resolveSplitGgufParts(first);
  if (parts.length > MAX_PARTS) throw new EngineError('remote-protocol', `${model} names ${parts.length} parts; at most ${MAX_PARTS} are read`);
  let bytesFetched = 0;
  const count = (n: number) => (bytesFetched += n);
  const read = await Promise.all(
    parts.map(async (url) => {
      const label = parts.length > 1 || model !== url ? `${model} (${fileNameOf(url)})` : model;
      const size = await probe(url, label, signal, count);
      const reader = new nlc.DoublingReader({ url, retryOptions: RETRY, signal });
      let info: GgufFileInfo;
      try {
        info = await nlc.parseGguf({ fileReader: reader, readTensorInfo: true, logWarnings: false });
      } catch (error) {
        if (signal?.aborted) throw new EngineError('aborted', `reading the header of ${label} was cancelled`);
        throw new EngineError('truncated-gguf', `cannot read the GGUF header of ${label}: ${reason(error)}`);
      } finally {
        count(reader._buffer.length);
      }
      const source = info.sourceData[0];
      if (source?.type !== 'buffer' || info.infoEndOffset === undefined)
        throw new EngineError('truncated-gguf', `cannot read the GGUF header of ${label}: no tensor info`);
      const tensors = (info.tensorInfo ?? []).map((t) => layoutTensor(t, label));
      return { url, label, size, info, tensors, header: Buffer.from(source.buffer) };
    }),
  );
  const [head] = read;
  let kvs: GgufLayout['kvs'];
  try {
    kvs = kvEntries(head.header, head.info.metadata, nlc.getKey);
  } catch (error) {
    throw new EngineError('truncated-gguf', `${head.label} has a damaged GGUF header: ${(error as Error).message}`);
  }
  const tensorInfo = read.flatMap((r, i) => (r.info.tensorInfo ?? []).map((t) => ({ ...t, filePart: i + 1 })));
  const layout: GgufLayout = {
    file: `${new URL(head.url).origin}${new URL(head.url).pathname}`,
    version: head.info.version,
    kvs,
    tensors: read.flatMap((r) => r.tensors),
    alignment: Number(kvs.find((k) => k.key === 'general.alignment')?.value ?? 32),
    dataOffset: head.info.infoEndOffset!,
    fileSize: read.reduce((n, r) => n + r.size, 0),
    header: head.header,
  };
  const info: GgufFileInfo = { ...head.info, fullTensorInfo: tensorInfo, splicedParts: read.length, totalTensorCount: tensorInfo.length };
  return { layout, info, parts, bytesFetched };
}
