// Fit verdicts from a header read over the network (engine/remote-layout.ts, engine/fit-verdicts.ts) against a real
// node:http server on this machine standing in for Hugging Face (HF_ENDPOINT points at it): range requests only,
// the layout equal to readGgufLayout of the same file, a split model's parts summed, the `hf:` URIs resolved as
// node-llama-cpp resolves them, and every failure one EngineError line. No test reaches the internet.
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitVerdicts, GiB, readModelHeader } from '../../extension/engine/fit-verdicts';
import { readGgufLayout, type GgufLayout } from '../../extension/engine/prune';
import { moeRecommendations } from '../../extension/engine/recommended';
import { readRemoteLayout } from '../../extension/engine/remote-layout';
import { fixture, newEngine, ROOT, runCli } from './helpers';
import { freePort } from '../remote/servers';

const DEMO_MODEL_FILE = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');

const dir = mkdtempSync(path.join(os.tmpdir(), 'moe-lens-fit-'));
/** Path on the server → local file. */
const files = new Map<string, string>();
/** Bytes of file data sent per path. */
const served = new Map<string, number>();
let base = '';
let closedPort = 0;
let server: http.Server;
const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, MODEL_ENDPOINT: process.env.MODEL_ENDPOINT };

/** Serves `files` with Range support, a Hugging Face manifest, a server that ignores Range, and a non-GGUF answer. */
function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const manifest = /^\/v2\/([^/]+)\/([^/]+)\/manifests\/([^/]+)$/.exec(url.pathname);
  if (manifest) {
    const [, owner, repo, tag] = manifest;
    const rfilename = `${repo.replace(/-GGUF$/i, '')}-${tag}.gguf`;
    if (!files.has(`/${owner}/${repo}/resolve/main/${rfilename}`)) return void res.writeHead(404).end('{"error":"not found"}');
    return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ggufFile: { rfilename } }));
  }
  if (url.pathname === '/stall.gguf') return; // never answers
  if (url.pathname === '/whole.gguf') return void streamWhole(res);
  if (url.pathname === '/page.gguf') return void res.writeHead(206, { 'content-type': 'text/html', 'content-range': 'bytes 0-3/1000' }).end('<htm');
  const file = files.get(url.pathname);
  if (!file) return void res.writeHead(404).end('not found');
  const size = statSync(file).size;
  const count = (n: number) => served.set(url.pathname, (served.get(url.pathname) ?? 0) + n);
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!range) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
  const start = Number(range[1]);
  const end = Math.min(size - 1, range[2] ? Number(range[2]) : size - 1);
  if (start >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
  res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
  createReadStream(file, { start, end }).on('data', (chunk) => count(chunk.length)).pipe(res);
}

const WHOLE = 2 ** 30;
/** A server that ignores Range: a 1 GiB "GGUF" streamed with backpressure until the client goes; bytes counted. */
async function streamWhole(res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'content-length': WHOLE, 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(1 << 20);
  chunk.write('GGUF');
  let gone = false;
  res.on('close', () => (gone = true));
  for (let sent = 0; sent < WHOLE && !gone; sent += chunk.length) {
    served.set('/whole.gguf', sent + chunk.length);
    if (!res.write(chunk)) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
  }
  res.end();
}

const u16 = (v: number) => Buffer.from(Uint16Array.of(v).buffer);
const u32 = (v: number) => Buffer.from(Uint32Array.of(v).buffer);
const u64 = (v: number) => Buffer.from(BigUint64Array.of(BigInt(v)).buffer);
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
/** The start of a GGUF v3 header. */
const gguf = (tensors: number, kvs: number) => Buffer.concat([Buffer.from('GGUF'), u32(3), u64(tensors), u64(kvs)]);
function serveBytes(name: string, bytes: Buffer): void {
  writeFileSync(path.join(dir, name), bytes);
  files.set(`/${name}`, path.join(dir, name));
}

/** Writes `layout`'s model as a split GGUF of two parts (as llama.cpp's gguf-split does: split.* keys, part 1 with the metadata). */
function writeSplit(layout: GgufLayout, prefix: string): string[] {
  const input = readFileSync(layout.file);
  const half = Math.ceil(layout.tensors.length / 2);
  const groups = [layout.tensors.slice(0, half), layout.tensors.slice(half)];
  const align = (n: number) => Math.ceil(n / layout.alignment) * layout.alignment;
  return groups.map((tensors, part) => {
    const split = [
      Buffer.concat([str('split.no'), u32(2), u16(part)]),
      Buffer.concat([str('split.count'), u32(2), u16(2)]),
      Buffer.concat([str('split.tensors.count'), u32(5), u32(layout.tensors.length)]),
    ];
    const kvs = part === 0 ? [...layout.kvs.map((k) => layout.header.subarray(k.start, k.end)), ...split] : split;
    const infos: Buffer[] = [];
    const data: Buffer[] = [];
    let offset = 0;
    for (const t of tensors) {
      infos.push(str(t.name), u32(t.shape.length), ...t.shape.map(u64), u32(t.type), u64(offset));
      data.push(input.subarray(t.offset, t.offset + t.bytes), Buffer.alloc(align(t.bytes) - t.bytes));
      offset += align(t.bytes);
    }
    const head = Buffer.concat([gguf(tensors.length, kvs.length), ...kvs, ...infos]);
    const file = path.join(dir, `${prefix}-${String(part + 1).padStart(5, '0')}-of-00002.gguf`);
    writeFileSync(file, Buffer.concat([head, Buffer.alloc(align(head.length) - head.length), ...data]));
    return file;
  });
}

beforeAll(async () => {
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closedPort = await freePort();
  process.env.HF_ENDPOINT = `${base}/`;
  delete process.env.MODEL_ENDPOINT;
  files.set('/models/demo-moe.gguf', DEMO_MODEL_FILE);
  files.set('/lens/demo-moe-GGUF/resolve/main/demo-moe-Q8_0.gguf', fixture('moe-q8_0.gguf'));
  for (const name of ['moe-qwen3.gguf', 'moe-deepseek2.gguf', 'moe-gptoss.gguf', 'moe-q4_k.gguf']) files.set(`/lens/fixtures/resolve/main/${name}`, fixture(name));
  const parts = writeSplit(await readGgufLayout(fixture('moe-qwen2.gguf')), 'qwen2');
  parts.forEach((p) => files.set(`/split/${path.basename(p)}`, p));
  // A header whose one key claims a 1 GB string; one tensor of a ggml type that does not exist (99).
  serveBytes('huge.gguf', Buffer.concat([gguf(0, 1), str('a.key'), u32(8), u64(1e9), Buffer.alloc(1000)]));
  serveBytes('odd-type.gguf', Buffer.concat([gguf(1, 0), str('x'), u32(1), u64(32), u32(99), u64(0), Buffer.alloc(1000)]));
});

afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key]; else process.env[key] = value;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A layout without its name (a URL vs a path). */
const sameAs = (layout: GgufLayout) => ({ ...layout, file: '' });
const OPTIONS = { gpuBytes: [0.02 * GiB, 0.025 * GiB, 0.03 * GiB, 24 * GiB], shares: [0, 0.25, 0.5], context: 64 };

describe('the header of a GGUF over HTTP', () => {
  it('is the layout readGgufLayout gives for the same file, read with range requests that fetch under 10 % of it', async () => {
    const url = `${base}/models/demo-moe.gguf`;
    served.clear();
    const remote = await readRemoteLayout(url);
    const local = await readGgufLayout(DEMO_MODEL_FILE);
    expect(sameAs(remote.layout)).toEqual(sameAs(local));
    expect(remote.layout.file).toBe(url);
    expect(remote.parts).toEqual([url]);
    const size = statSync(DEMO_MODEL_FILE).size;
    const sent = served.get('/models/demo-moe.gguf')!;
    expect(sent).toBeGreaterThanOrEqual(local.dataOffset);
    expect(sent).toBeLessThan(size * 0.1);
    expect(remote.bytesFetched).toBe(sent);
  });

  it.each(['moe-qwen3.gguf', 'moe-deepseek2.gguf', 'moe-gptoss.gguf', 'moe-q4_k.gguf'])('hf:owner/repo/%s: the same layout as the local file', async (name) => {
    const remote = await readRemoteLayout(`hf:lens/fixtures/${name}`);
    expect(sameAs(remote.layout)).toEqual(sameAs(await readGgufLayout(fixture(name))));
  });

  it('hf:owner/repo:QUANT resolves through the manifest at HF_ENDPOINT, and its verdicts equal the local file\'s', async () => {
    const remote = await readModelHeader('hf:lens/demo-moe-GGUF:Q8_0');
    expect(remote.layout.file).toBe(`${base}/lens/demo-moe-GGUF/resolve/main/demo-moe-Q8_0.gguf`);
    const local = await readModelHeader(fixture('moe-q8_0.gguf'));
    const [a, b] = await Promise.all([fitVerdicts(remote, OPTIONS), fitVerdicts(local, OPTIONS)]);
    expect(a.rows).toEqual(b.rows);
    expect(a.contextBytes).toBe(b.contextBytes);
    expect(a.rows.map((r) => r.experts)).toEqual([8, 6, 4]);
  });

  it('a split model, over the network or on disk: one layout with the tensors of both parts, the sizes summed, the verdicts of the unsplit file', async () => {
    const url = `${base}/split/qwen2-00001-of-00002.gguf`;
    const remote = await readModelHeader(url);
    const local = await readModelHeader(fixture('moe-qwen2.gguf'));
    const tensorFacts = (l: GgufLayout) => l.tensors.map(({ name, shape, type, bytes }) => ({ name, shape, type, bytes }));
    expect(tensorFacts(remote.layout)).toEqual(tensorFacts(local.layout));
    const parts = [1, 2].map((p) => statSync(path.join(dir, `qwen2-0000${p}-of-00002.gguf`)).size);
    expect(remote.layout.fileSize).toBe(parts[0] + parts[1]);
    // The second part's tensors have their offsets in the second part.
    const second = remote.layout.tensors[Math.ceil(local.layout.tensors.length / 2)];
    expect(second.offset).toBeLessThan(parts[1]);
    // The same parts on disk: the same layout as over the network.
    const onDisk = await readModelHeader(path.join(dir, 'qwen2-00001-of-00002.gguf'));
    expect(sameAs(onDisk.layout)).toEqual(sameAs(remote.layout));
    const [a, b, c] = await Promise.all([fitVerdicts(remote, OPTIONS), fitVerdicts(local, OPTIONS), fitVerdicts(onDisk, OPTIONS)]);
    expect(a.rows.map((r) => r.fits)).toEqual(b.rows.map((r) => r.fits));
    expect(a.contextBytes).toBe(b.contextBytes);
    expect(c.rows).toEqual(a.rows);
  });

  it.each([
    ['a missing file (404)', () => `${base}/models/none.gguf`, 'file-not-found', /none\.gguf was not found on 127\.0\.0\.1:\d+ \(HTTP 404/],
    ['a page that is not GGUF', () => `${base}/page.gguf`, 'not-gguf', /page\.gguf is not a GGUF model file \(.* answered text\/html\)/],
    ['a server without range support', () => `${base}/whole.gguf`, 'remote-protocol', /ignores range requests .* would download the whole model/],
    ['an unknown quantization', () => 'hf:lens/demo-moe-GGUF:Q2_K', 'remote-unavailable', /^cannot resolve hf:lens\/demo-moe-GGUF:Q2_K at 127\.0\.0\.1:\d+: Cannot get quantization "Q2_K"/],
    ['a header that claims 1 GB', () => `${base}/huge.gguf`, 'truncated-gguf', /^cannot read the GGUF header of .*huge\.gguf: its header claims more than 256 MiB$/],
    ['a tensor of an unknown ggml type', () => `${base}/odd-type.gguf`, 'truncated-gguf', /odd-type\.gguf: tensor "x" has the unknown ggml type 99$/],
    ['a server that never answers', () => `${base}/stall.gguf`, 'remote-timeout', /^reading the header of .*stall\.gguf took longer than 0\.3 s/],
    ['a host that refuses connections', () => `http://127.0.0.1:${closedPort}/model.gguf`, 'remote-unavailable', /^cannot reach 127\.0\.0\.1:\d+ for .*: ECONNREFUSED$/],
  ])('%s: one EngineError line', async (_, model, code, message) => {
    served.clear();
    const url = model();
    const error = await readRemoteLayout(url, { timeoutMs: url.endsWith('/stall.gguf') ? 300 : 30_000 }).then(() => undefined, (e: Error & { code?: string }) => e);
    expect(error?.name).toBe('EngineError');
    expect(error?.code).toBe(code);
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
    // Refused at its first answer: the 1 GiB never streams (what is sent is what fits in the sockets' buffers).
    expect(served.get('/whole.gguf') ?? 0).toBeLessThan(64 << 20);
  });
});

describe("inspect (Download Model's fit line) over HTTP", () => {
  it('reads the same header as the local file, and a server that ignores Range is refused before it streams the model', async () => {
    const engine = newEngine();
    try {
      const remote = await engine.inspect({ modelPath: `${base}/models/demo-moe.gguf` });
      const local = await engine.inspect({ modelPath: DEMO_MODEL_FILE });
      expect(remote.placement).toEqual(local.placement);
      expect(remote.routing).toEqual(local.routing);
      expect(remote.fileBytes).toBe(statSync(DEMO_MODEL_FILE).size);
      served.clear();
      const error = await engine.inspect({ modelPath: `${base}/whole.gguf` }).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(error?.code).toBe('remote-protocol');
      expect(served.get('/whole.gguf') ?? 0).toBeLessThan(64 << 20);
    } finally {
      await engine.dispose();
    }
  }, 60_000);
});

describe('moe-lens fit', () => {
  it('a table per model: the verdict per GPU size and share dropped, the pruned sizes', async () => {
    const run = await runCli('fit', 'demo', `${base}/models/demo-moe.gguf`, '--gpu', '0.02,0.025,0.03,24', '--context', '64');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [local, remote] = run.stdout.split(/\n\n/);
    expect(remote.split('\n').slice(1)).toEqual(local.split('\n').slice(1));
    const rows = local.split('\n').slice(2).map((line) => line.trim().split(/\s{2,}/));
    expect(rows[0]).toEqual(['drop', 'experts', 'file', '0.02 GiB', '0.025 GiB', '0.03 GiB', '24 GiB']);
    expect(rows.map((r) => r[0])).toEqual(['drop', '0 %', '25 % (2)', '50 % (4)']);
    // Fewer experts never fit worse, and every share fits 24 GiB.
    const rank = (c: string) => (c === 'fits' ? 0 : c === '—' ? 99 : Number(c.split('/')[0]));
    for (let gpu = 3; gpu < 7; gpu++) for (let r = 2; r < 4; r++) expect(rank(rows[r][gpu])).toBeLessThanOrEqual(rank(rows[r - 1][gpu]));
    expect(rows.slice(1).map((r) => r[6])).toEqual(['fits', 'fits', 'fits']);
    expect(rows[1].slice(3, 6).some((c) => /^\d+\/6$/.test(c))).toBe(true);
    expect(run.stdout).toMatch(/N\/M: the experts of the first N of M layers in RAM/);
  });

  it('--json: one line per model, the same verdicts as fitVerdicts', async () => {
    const run = await runCli('fit', fixture('moe-deepseek2.gguf'), '--gpu', '0.001,24', '--drop', '0,50,99', '--json');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    const expected = await fitVerdicts(await readModelHeader(fixture('moe-deepseek2.gguf')), { gpuBytes: [0.001 * GiB, 24 * GiB], shares: [0, 0.5, 0.99], context: 4096 });
    expect(r).toMatchObject({ architecture: 'deepseek2', experts: 16, context: 4096, contextBytes: expected.contextBytes, unavailable: [0.99] });
    expect(r.rows.map((row: { drop: number; bytes: number }) => [row.drop, row.bytes])).toEqual(expected.rows.map((row) => [row.drop, row.bytes]));
    expect(r.rows.map((row: { gpus: { fit: string }[] }) => row.gpus.map((g) => g.fit))).toEqual(expected.rows.map((row) => row.fits.map((f) => f.kind)));
    expect(r.rows[1].bytes).toBeLessThan(r.rows[0].bytes);
  });

  it('--recommended: every file option of node-llama-cpp\'s recommended MoE models, asked of the hub at HF_ENDPOINT', async () => {
    const uris = (await moeRecommendations()).flatMap((r) => r.fileOptions);
    expect(uris.some((uri) => /-00001-of-\d{5}\.gguf$/.test(uri))).toBe(true); // a split model among them
    // This hub has none of them: one line each, naming the URI and this server, then the count.
    const run = await runCli('fit', '--recommended', '--json');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(uris.length + 1);
    lines.slice(0, -1).forEach((line, i) => {
      expect(line.startsWith(`moe-lens: cannot resolve ${uris[i]} at 127.0.0.1:`) || line.startsWith(`moe-lens: ${uris[i]} (`)).toBe(true);
      expect(line).toMatch(/ (at|on) 127\.0\.0\.1:\d+/);
    });
    expect(lines.at(-1)).toBe(`moe-lens: ${uris.length} of ${uris.length} models could not be read (above)`);
  });

  it('refuses bad lists and a missing model in one line; a model that cannot be read does not stop the others', async () => {
    expect((await runCli('fit', 'demo', '--gpu', '12,x')).stderr).toMatch(/--gpu.*expected GiB sizes above 0/);
    expect((await runCli('fit', 'demo', '--drop', '100')).stderr).toMatch(/--drop.*expected percentages from 0 to 99/);
    expect((await runCli('fit')).stderr).toBe('moe-lens: name a model (a file, a URL or an hf: URI), or give --recommended\n');
    const run = await runCli('fit', `${base}/models/none.gguf`, fixture('moe-qwen3.gguf'), '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ architecture: 'qwen3moe' });
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^moe-lens: .*none\.gguf was not found on .* \(HTTP 404/),
      'moe-lens: 1 of 2 models could not be read (above)',
    ]);
  });
});
