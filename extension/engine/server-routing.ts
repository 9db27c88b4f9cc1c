// Routed experts as serving engines report them, decoded into the engine's routing layout (token-major, then MoE
// layer, then rank: `experts[(t * layers + l) * k + r]`, ids only). No vscode import.
//
// - SGLang (`return_routed_experts`): base64 of a flat little-endian int32 array, logical shape [tokens, layers, k];
//   the shape is not in the payload, so layers and k come from the caller (`RemoteLoadOptions.routingShape`).
// - vLLM (`routed_experts`, `prompt_routed_experts`): base64 of an `np.save` buffer; dtype and shape come from its
//   header (format versions 1.0, 2.0 and 3.0; any integer dtype of either byte order; C or Fortran order).
// - Older vLLM: nested JSON lists [tokens][layers][k].
// Every decoder checks sizes against the payload and refuses ids that do not fit the layout with a `remote-protocol`
// EngineError.
import { EngineError } from './errors';

export interface DecodedRouting {
  tokens: number;
  layers: number;
  k: number;
  experts: Uint16Array<ArrayBuffer>;
}

function bad(message: string): EngineError {
  return new EngineError('remote-protocol', message);
}

function base64Bytes(b64: string, what: string): Uint8Array {
  if (typeof b64 !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64.replace(/\s+/g, ''))) throw bad(`${what} is not base64`);
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function toExperts(values: ArrayLike<number | bigint>, what: string): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw bad(`${what} holds an expert id out of range (${String(values[i])})`);
    out[i] = v;
  }
  return out;
}

/** SGLang's `routed_experts`: base64 little-endian int32, [tokens, layers, k] with layers and k given. */
export function decodeSglangRouting(b64: string, layers: number, k: number): DecodedRouting {
  const bytes = base64Bytes(b64, 'routed_experts');
  const row = layers * k * 4;
  if (row <= 0) throw bad('the routing shape (MoE layers × experts per token) is unknown');
  if (bytes.byteLength % row !== 0)
    throw bad(`routed_experts has ${bytes.byteLength} bytes, not a whole number of tokens of ${layers} layers × ${k} experts (int32)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / 4;
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = view.getInt32(i * 4, true);
  return { tokens: bytes.byteLength / row, layers, k, experts: toExperts(ids, 'routed_experts') };
}

/** The inverse, for `moe-lens serve`: int32 little-endian of the ids, base64. */
export function encodeSglangRouting(experts: ArrayLike<number>): string {
  const buf = Buffer.alloc(experts.length * 4);
  for (let i = 0; i < experts.length; i++) buf.writeInt32LE(experts[i], i * 4);
  return buf.toString('base64');
}

export interface NpyArray {
  dtype: string;
  shape: number[];
  fortranOrder: boolean;
  /** The values in C (row-major) order. */
  values: ArrayLike<number | bigint>;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses an `.npy` buffer (NumPy's format, versions 1–3) of a numeric dtype. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.byteLength < 10 || NPY_MAGIC.some((b, i) => bytes[i] !== b)) throw bad('the routing payload is not a .npy buffer (no \\x93NUMPY magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw bad('the .npy header is truncated');
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else throw bad(`.npy format version ${major} is not supported`);
  if (headerStart + headerLength > bytes.byteLength) throw bad('the .npy header runs past the end of the payload');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(`the .npy header cannot be read: ${header.trim().slice(0, 120)}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw bad(`the .npy shape (${shapeText}) is not a list of sizes`);
      return n;
    });
  const m = /^([<>|=])([iuf])(\d+)$/.exec(descr);
  if (!m) throw bad(`.npy dtype ${descr} is not a number type`);
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  const little = order !== '>'; // '|' (one byte) and '=' (native: every platform NumPy writes on here is little-endian)
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.byteLength - dataStart < count * size) throw bad(`the .npy data holds ${bytes.byteLength - dataStart} bytes, fewer than its shape (${shape.join('×')}) × ${size} needs`);
  const read = reader(kind, size, little);
  if (!read) throw bad(`.npy dtype ${descr} is not supported`);
  const raw: (number | bigint)[] = new Array(count);
  for (let i = 0; i < count; i++) raw[i] = read(view, dataStart + i * size);
  const isFortran = fortran === 'True';
  return { dtype: descr, shape, fortranOrder: isFortran, values: isFortran ? fortranToC(raw, shape) : raw };
}

function reader(kind: string, size: number, little: boolean): ((view: DataView, at: number) => number | bigint) | undefined {
  if (kind === 'i') {
    if (size === 1) return (v, at) => v.getInt8(at);
    if (size === 2) return (v, at) => v.getInt16(at, little);
    if (size === 4) return (v, at) => v.getInt32(at, little);
    if (size === 8) return (v, at) => v.getBigInt64(at, little);
  } else if (kind === 'u') {
    if (size === 1) return (v, at) => v.getUint8(at);
    if (size === 2) return (v, at) => v.getUint16(at, little);
    if (size === 4) return (v, at) => v.getUint32(at, little);
    if (size === 8) return (v, at) => v.getBigUint64(at, little);
  } else if (kind === 'f') {
    if (size === 2) return (v, at) => halfToFloat(v.getUint16(at, little));
    if (size === 4) return (v, at) => v.getFloat32(at, little);
    if (size === 8) return (v, at) => v.getFloat64(at, little);
  }
  return undefined;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Fortran (column-major) values to C (row-major) order. */
function fortranToC<T>(values: T[], shape: number[]): T[] {
  const out: T[] = new Array(values.length);
  const n = shape.length;
  const idx = new Array(n).fill(0);
  for (let c = 0; c < values.length; c++) {
    let f = 0;
    let stride = 1;
    for (let d = 0; d < n; d++) {
      f += idx[d] * stride;
      stride *= shape[d];
    }
    out[c] = values[f];
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** vLLM's `routed_experts` / `prompt_routed_experts`: base64 `.npy` [tokens, layers, k], or older nested lists. */
export function decodeVllmRouting(value: unknown, what = 'routed_experts'): DecodedRouting {
  if (Array.isArray(value)) return decodeNestedRouting(value, what);
  if (typeof value !== 'string') throw bad(`${what} is neither base64 nor a list`);
  const npy = parseNpy(base64Bytes(value, what));
  if (npy.dtype.includes('f')) throw bad(`${what} has dtype ${npy.dtype}; expert ids must be integers`);
  if (npy.shape.length !== 3) throw bad(`${what} has shape (${npy.shape.join(', ')}); expected [tokens, layers, top-k]`);
  const [tokens, layers, k] = npy.shape;
  return { tokens, layers, k, experts: toExperts(npy.values, what) };
}

function decodeNestedRouting(value: unknown[], what: string): DecodedRouting {
  const tokens = value.length;
  const layers = tokens ? (value[0] as unknown[]).length : 0;
  const k = layers ? ((value[0] as unknown[][])[0] ?? []).length : 0;
  const flat: number[] = [];
  for (const t of value) {
    if (!Array.isArray(t) || t.length !== layers) throw bad(`${what} is a ragged list (tokens with different layer counts)`);
    for (const l of t) {
      if (!Array.isArray(l) || l.length !== k) throw bad(`${what} is a ragged list (layers with different expert counts)`);
      for (const e of l) flat.push(e as number);
    }
  }
  return { tokens, layers, k, experts: toExperts(flat, what) };
}
