// Download Model's transfer against local HTTP servers started here (no real network): one that refuses, one that
// stalls (before the headers, and in the middle of the body), one that answers 404, and one that serves a file
// (its bytes, its progress events, a split model's parts, continuing a partial file). Each failure says its cause.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, PARTIAL_SUFFIX, checkHost, download, downloadProgressText, planDownload, type DownloadProgress } from '../../extension/engine/download';
import { isAbort } from '../../extension/engine/errors';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
let handler: Handler = () => {};
let server: http.Server;
let base = '';
let dir = '';
const requests: { method?: string; url?: string; range?: string }[] = [];

/** Serves `data` with Range support (206) unless `ranges` is false. */
function serve(data: Buffer, ranges = true): Handler {
  return (req, res) => {
    const m = ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, { 'content-length': data.length - start, ...(m ? { 'content-range': `bytes ${start}-${data.length - 1}/${data.length}` } : {}) });
    res.end(req.method === 'HEAD' ? undefined : data.subarray(start));
  };
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, range: req.headers.range });
    // No kept-alive sockets: each test closes what its server left open.
    res.setHeader('connection', 'close');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  server.closeAllConnections();
  requests.length = 0;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
const newDir = () => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moe-lens-download-')));

/** A port that was free a moment ago: nothing listens there. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DownloadError);
  return error as DownloadError;
}

describe('Download Model: failures say their cause', () => {
  it('a refused connection', async () => {
    const port = await closedPort();
    const error = await failure(planDownload(`http://127.0.0.1:${port}/m.gguf`, newDir()));
    expect(error.reason).toBe('refused');
    expect(error.message).toBe(`127.0.0.1:${port} refused the connection (nothing listens there)`);
  });

  it('a name that does not resolve (offline, or DNS blocked)', async () => {
    await expect(checkHost('moe-lens-test.invalid')).rejects.toMatchObject({ reason: 'offline', message: expect.stringMatching(/^cannot reach moe-lens-test\.invalid: /) });
    const error = await failure(planDownload('http://moe-lens-test.invalid/m.gguf', newDir()));
    expect(error.reason).toBe('offline');
  });

  it('a server that accepts and sends nothing: a timeout, not a wait without end', async () => {
    handler = () => {}; // never answers
    const error = await failure(planDownload(`${base}/m.gguf`, newDir(), { connectMs: 300 }));
    expect(error.reason).toBe('timeout');
    expect(error.message).toMatch(/did not answer within 0.3 s/);
  });

  it('a 404', async () => {
    handler = (_req, res) => {
      res.writeHead(404);
      res.end('no');
    };
    const error = await failure(planDownload(`${base}/models/missing.gguf`, newDir()));
    expect(error.reason).toBe('not-found');
    expect(error.message).toBe(`127.0.0.1:${new URL(base).port} has no such file (404 Not Found): ${base}/models/missing.gguf`);
  });

  it('a URL that names no .gguf, and a URI of neither kind', async () => {
    const target = newDir();
    expect((await failure(planDownload(`${base}/index.html`, target))).reason).toBe('bad-uri');
    expect((await failure(planDownload('ftp://example/m.gguf', target))).reason).toBe('bad-uri');
    expect(requests).toHaveLength(0);
  });

  it('too little disk space, before a byte is fetched', async () => {
    handler = serve(body);
    const error = await failure(planDownload(`${base}/m.gguf`, newDir(), { freeBytes: async () => 1000 }));
    expect(error.reason).toBe('disk-full');
    expect(error.message).toMatch(/^not enough disk space: 293.0 KiB to write, 1000 B free in /);
    expect(requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('a transfer that stops in the middle: stalled, and the partial file is neither a model nor lost', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      if (req.method === 'HEAD') return res.end();
      res.write(body.subarray(0, 100_000)); // then nothing
    };
    const plan = await planDownload(`${base}/m.gguf`, newDir());
    const error = await failure(download(plan, { stallMs: 400 }));
    expect(error.reason).toBe('stalled');
    expect(error.message).toMatch(/sent nothing for 0.4 s: the transfer stalled/);
    expect(fs.existsSync(plan.file)).toBe(false);
    expect(fs.statSync(plan.file + PARTIAL_SUFFIX).size).toBe(100_000);

    // Retry continues where it stopped (Range) and ends with the exact bytes.
    handler = serve(body);
    const again = await planDownload(`${base}/m.gguf`, dir);
    expect(again.presentBytes).toBe(100_000);
    requests.length = 0;
    expect(await download(again)).toBe(plan.file);
    expect(requests).toEqual([{ method: 'GET', url: '/m.gguf', range: 'bytes=100000-' }]);
    expect(fs.readFileSync(plan.file).equals(body)).toBe(true);
    expect(fs.existsSync(plan.file + PARTIAL_SUFFIX)).toBe(false);
  });

  it('a server that ignores Range: starts over and still writes the exact bytes', async () => {
    handler = serve(body, false);
    const target = newDir();
    fs.writeFileSync(path.join(target, 'm.gguf' + PARTIAL_SUFFIX), body.subarray(0, 5000));
    const plan = await planDownload(`${base}/m.gguf`, target);
    expect(await download(plan)).toBe(path.join(target, 'm.gguf'));
    expect(fs.readFileSync(plan.file).equals(body)).toBe(true);
  });

  it('cancel: aborted, and the partial file is deleted', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      if (req.method === 'HEAD') return res.end();
      res.write(body.subarray(0, 1000));
    };
    const plan = await planDownload(`${base}/m.gguf`, newDir());
    const abort = new AbortController();
    const error = await download(plan, { signal: abort.signal, progressEveryMs: 0, onProgress: (p) => p.bytes > 0 && abort.abort() }).catch((e: unknown) => e);
    expect(isAbort(error)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('Download Model: a file served here', () => {
  it('arrives byte for byte, with its size known first and progress up to 100 %', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      if (req.method === 'HEAD') return res.end();
      // In pieces, so that there is progress to report.
      let at = 0;
      const next = () => {
        if (at >= body.length) return res.end();
        res.write(body.subarray(at, (at += 50_000)));
        setTimeout(next, 20);
      };
      next();
    };
    const plan = await planDownload(`${base}/dir/tiny%20model.gguf`, newDir());
    expect(plan).toMatchObject({ totalBytes: body.length, presentBytes: 0, file: path.join(dir, 'tiny model.gguf') });
    expect(plan.freeBytes).toBeGreaterThan(0);
    const events: DownloadProgress[] = [];
    const file = await download(plan, { onProgress: (p) => events.push(p), progressEveryMs: 0 });
    expect(file).toBe(plan.file);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['tiny model.gguf']);
    expect(events[0].bytes).toBe(0);
    expect(events.at(-1)).toMatchObject({ bytes: body.length, totalBytes: body.length });
    expect(events.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < events.length; i++) expect(events[i].bytes).toBeGreaterThanOrEqual(events[i - 1].bytes);
    const mid = events.find((e) => e.bytes > 0 && e.bytes < body.length)!;
    expect(mid.bytesPerSecond).toBeGreaterThan(0);
    expect(mid.secondsLeft).toBeGreaterThan(0);
  });

  it("a split model's parts, each in full, and the first part is the file to load; a complete one is not fetched again", async () => {
    const parts = [body.subarray(0, 100_000), body.subarray(100_000, 250_000), body.subarray(250_000)];
    handler = (req, res) => {
      const m = /-0000(\d)-of-00003\.gguf/.exec(req.url ?? '');
      if (!m) {
        res.writeHead(404);
        return res.end();
      }
      serve(parts[Number(m[1]) - 1])(req, res);
    };
    const target = newDir();
    const plan = await planDownload(`${base}/big-00001-of-00003.gguf`, target);
    expect(plan.parts.map((p) => [path.basename(p.file), p.bytes])).toEqual([
      ['big-00001-of-00003.gguf', 100_000],
      ['big-00002-of-00003.gguf', 150_000],
      ['big-00003-of-00003.gguf', 50_000],
    ]);
    expect(plan.totalBytes).toBe(body.length);
    fs.writeFileSync(path.join(target, 'big-00002-of-00003.gguf'), parts[1]);
    requests.length = 0;
    expect(await download(await planDownload(`${base}/big-00001-of-00003.gguf`, target))).toBe(path.join(target, 'big-00001-of-00003.gguf'));
    expect(requests.filter((r) => r.method === 'GET').map((r) => r.url)).toEqual(['/big-00001-of-00003.gguf', '/big-00003-of-00003.gguf']);
    parts.forEach((p, i) => expect(fs.readFileSync(path.join(target, `big-0000${i + 1}-of-00003.gguf`)).equals(p)).toBe(true));
  });
});

describe("Download Model: the progress notification's line", () => {
  it('percent, bytes, speed and time left; bytes and speed alone when the size is unknown', () => {
    const GiB = 2 ** 30;
    expect(downloadProgressText({ bytes: 1.2 * GiB, totalBytes: 2.87 * GiB, bytesPerSecond: 11.3 * 2 ** 20, secondsLeft: 150 })).toBe('42% · 1.20 GiB of 2.87 GiB · 11.3 MiB/s · 2 min 30 s left');
    expect(downloadProgressText({ bytes: 0, totalBytes: GiB, bytesPerSecond: 0, secondsLeft: undefined })).toBe('0% · 0 B of 1.00 GiB');
    expect(downloadProgressText({ bytes: 5 * 2 ** 20, totalBytes: undefined, bytesPerSecond: 2 ** 20, secondsLeft: undefined })).toBe('5.0 MiB · 1.0 MiB/s');
  });
});
