// A small local HTTP server for the remote-engine tests: answers as vLLM, SGLang or a broken server would, on
// 127.0.0.1 and a free port. Real sockets, real HTTP; only the server's behaviour is scripted.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export type StubHandler = (req: StubRequest, res: http.ServerResponse) => void | Promise<void>;

export interface Stub {
  url: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

export async function startStub(handler: StubHandler): Promise<Stub> {
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const r = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body };
      requests.push(r);
      Promise.resolve(handler(r, res)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Writes SSE events (objects are JSON'd, strings sent as they are), then `[DONE]` unless `done` is false. */
export function sse(res: http.ServerResponse, events: (unknown | string)[], options: { done?: boolean; end?: boolean } = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
  if (options.done !== false) res.write('data: [DONE]\n\n');
  if (options.end !== false) res.end();
}

/** `/v1/models` as a given server lists one model. */
export function models(id: string, owned_by: string, extra: Record<string, unknown> = {}): unknown {
  return { object: 'list', data: [{ id, object: 'model', owned_by, ...extra }] };
}

/** An `np.save` buffer of a C-order (or Fortran-order) array, header version 1.0 or 2.0, as NumPy writes it. */
export function npy(descr: string, shape: number[], values: (number | bigint)[], options: { fortran?: boolean; version?: 1 | 2 } = {}): Buffer {
  const version = options.version ?? 1;
  const dict = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const prefix = version === 1 ? 10 : 12;
  let header = dict + ' ';
  while ((prefix + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const head = Buffer.alloc(prefix);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  const m = /^([<>|])([iuf])(\d+)$/.exec(descr)!;
  const little = m[1] !== '>';
  const size = Number(m[3]);
  // Fortran order: the same logical array written column-major.
  const order = options.fortran ? fortranOrder(shape) : values.map((_, i) => i);
  const data = Buffer.alloc(values.length * size);
  order.forEach((src, i) => {
    const v = values[src];
    const at = i * size;
    const be = !little;
    if (m[2] === 'f') {
      if (size === 4) {
        if (be) data.writeFloatBE(Number(v), at);
        else data.writeFloatLE(Number(v), at);
      } else if (size === 8) {
        if (be) data.writeDoubleBE(Number(v), at);
        else data.writeDoubleLE(Number(v), at);
      } else if (be) data.writeUInt16BE(0x3c00, at); // 1.0 as float16
      else data.writeUInt16LE(0x3c00, at);
    } else if (size === 8) {
      const b = BigInt(v);
      if (m[2] === 'i') {
        if (be) data.writeBigInt64BE(b, at);
        else data.writeBigInt64LE(b, at);
      } else if (be) data.writeBigUInt64BE(b, at);
      else data.writeBigUInt64LE(b, at);
    } else if (m[2] === 'i') {
      if (be) data.writeIntBE(Number(v), at, size);
      else data.writeIntLE(Number(v), at, size);
    } else if (be) data.writeUIntBE(Number(v), at, size);
    else data.writeUIntLE(Number(v), at, size);
  });
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** For each position of the Fortran-order data, the C-order index of the value stored there. */
function fortranOrder(shape: number[]): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    let c = 0;
    for (let d = 0; d < shape.length; d++) c = c * shape[d] + idx[d];
    out.push(c);
    for (let d = 0; d < shape.length; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
