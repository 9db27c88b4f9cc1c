// A bounded walk over a GGUF file's header, run before anything else reads it (node-llama-cpp's reader,
// llama.cpp): it refuses, with one clear line, what llama.cpp's own gguf.cpp refuses or what would make a reader
// hang or allocate without bound — an unsupported version, counts or lengths that point past the end of the file,
// unknown value or tensor types, duplicate keys or tensor names, bad shapes, misplaced tensor data. It reads
// through a 1 MiB window, never holds more than one key or name in memory, and visits every byte at most once,
// so a hostile header costs at most one pass over the file. No vscode import, no node-llama-cpp.
import { closeSync, openSync, readSync } from 'node:fs';
import { EngineError } from './errors';

/** Bytes per block and elements per block of every ggml type a GGUF file may hold (ggml.c's type traits). */
export const GGML_TYPE_SIZE: Record<number, [bytes: number, elements: number]> = {
  0: [4, 1], 1: [2, 1], 2: [18, 32], 3: [20, 32], 6: [22, 32], 7: [24, 32], 8: [34, 32], 9: [36, 32],
  10: [84, 256], 11: [110, 256], 12: [144, 256], 13: [176, 256], 14: [210, 256], 15: [292, 256],
  16: [66, 256], 17: [74, 256], 18: [98, 256], 19: [50, 256], 20: [18, 32], 21: [110, 256], 22: [82, 256],
  23: [136, 256], 24: [1, 1], 25: [2, 1], 26: [4, 1], 27: [8, 1], 28: [8, 1], 29: [56, 256], 30: [2, 1],
  34: [54, 256], 35: [66, 256], 39: [17, 32], 40: [36, 64], 41: [18, 128], 42: [18, 64],
};

/** GGUF value types and the bytes of a scalar (0 for string and array). */
export const VALUE_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
export const STRING = 8;
export const ARRAY = 9;
export const UINT32 = 4;
const MAX_KEY = 65_535;
const MAX_NAME = 63; // GGML_MAX_NAME - 1
const MAX_DIMS = 4;
const WINDOW = 1 << 20;

/** A count for a message: counts past 2^53 (read as Infinity) are beyond any file here. */
const show = (n: number) => (Number.isFinite(n) ? String(n) : 'more than 2^53');
/** A key or tensor name for a message: quoted, control characters escaped, cut at 64 characters. */
const q = (name: string) => JSON.stringify(name.length > 64 ? name.slice(0, 64) + '…' : name);

export interface GgufHeaderFacts {
  version: number;
  tensorCount: number;
  kvCount: number;
  architecture: string | undefined;
  alignment: number;
  /** Where the tensor data starts and how many bytes it spans (padded sizes, as llama.cpp lays them out). */
  dataOffset: number;
  dataBytes: number;
}

class Reader {
  private buf = Buffer.alloc(0);
  private start = 0;
  pos = 0;
  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly fail: (what: string) => never,
  ) {}

  private ensure(n: number): void {
    if (this.pos + n > this.size) this.fail(`the header ends past the end of the file (at byte ${this.pos + n} of ${this.size})`);
    if (this.pos >= this.start && this.pos + n <= this.start + this.buf.length) return;
    const len = Math.min(Math.max(n, WINDOW), this.size - this.pos);
    this.buf = Buffer.alloc(len);
    readSync(this.fd, this.buf, 0, len, this.pos);
    this.start = this.pos;
  }
  u32(): number {
    this.ensure(4);
    const v = this.buf.readUInt32LE(this.pos - this.start);
    this.pos += 4;
    return v;
  }
  /** A u64 as a number; values past 2^53 are beyond any file here and reported as Infinity. */
  u64(): number {
    this.ensure(8);
    const v = this.buf.readBigUInt64LE(this.pos - this.start);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
  }
  skip(n: number): void {
    if (!(n <= this.size - this.pos)) this.fail(`a value of ${show(n)} bytes at byte ${this.pos} runs past the end of the file`);
    this.pos += n;
  }
  /** A string's length, checked against what is left of the file; `max` bounds strings that are kept. */
  stringLength(what: string, max = Infinity): number {
    const n = this.u64();
    if (n > this.size - this.pos) this.fail(`${what} claims ${show(n)} bytes, past the end of the file`);
    if (n > max) this.fail(`${what} is ${n} bytes long (at most ${max})`);
    return n;
  }
  text(n: number): string {
    this.ensure(n);
    const s = this.buf.toString('utf8', this.pos - this.start, this.pos - this.start + n);
    this.pos += n;
    return s;
  }
}

/**
 * Validates the header of the GGUF file at `file` (`name` is what errors call it), magic included. Throws
 * EngineError. Whether the tensor data itself is all there is the caller's check (readModelFile).
 */
export function validateGgufHeader(file: string, name: string, size: number): GgufHeaderFacts {
  const damaged = (what: string): never => {
    throw new EngineError('truncated-gguf', `${name} is a damaged or truncated GGUF file: ${what}`);
  };
  const fd = openSync(file, 'r');
  try {
    const r = new Reader(fd, size, damaged);
    if (size < 4 || r.text(4) !== 'GGUF') throw new EngineError('not-gguf', `${name} is not a GGUF model file`);
    if (size < 24) damaged(`${size} bytes, too short for a GGUF header`);
    const version = r.u32();
    if (version !== 2 && version !== 3)
      throw new EngineError('unsupported-gguf-version', `${name} is GGUF version ${version}; llama.cpp reads versions 2 and 3`);
    const tensorCount = r.u64();
    const kvCount = r.u64();
    // Every key takes at least 16 bytes (length, type, a 4-byte value), every tensor info at least 32.
    if (kvCount * 16 + tensorCount * 32 > size - 24)
      damaged(`its header claims ${show(kvCount)} keys and ${show(tensorCount)} tensors, more than ${size} bytes can hold`);

    const keys = new Set<string>();
    let architecture: string | undefined;
    let alignment = 32;
    for (let i = 0; i < kvCount; i++) {
      const key = r.text(r.stringLength(`key ${i}`, MAX_KEY));
      if (!key) damaged(`key ${i} is empty`);
      if (keys.has(key)) damaged(`duplicate key ${q(key)}`);
      keys.add(key);
      const type = r.u32();
      if (type >= VALUE_SIZE.length) damaged(`key ${q(key)} has the unknown value type ${type}`);
      if (type === ARRAY) {
        const elem = r.u32();
        if (elem >= VALUE_SIZE.length || elem === ARRAY) damaged(`array ${q(key)} has the unsupported element type ${elem}`);
        const count = r.u64();
        if (elem === STRING) {
          if (count * 8 > size - r.pos) damaged(`array ${q(key)} claims ${show(count)} strings, past the end of the file`);
          for (let j = 0; j < count; j++) r.skip(r.stringLength(`string ${j} of ${q(key)}`));
        } else r.skip(count * VALUE_SIZE[elem]);
      } else if (type === STRING) {
        const n = r.stringLength(`the value of ${q(key)}`, key === 'general.architecture' ? 256 : Infinity);
        if (key === 'general.architecture') architecture = r.text(n);
        else r.skip(n);
      } else if (key === 'general.alignment') {
        if (type !== UINT32) damaged(`general.alignment has value type ${type}, not uint32`);
        alignment = r.u32();
        if (alignment === 0 || (alignment & (alignment - 1)) !== 0) damaged(`alignment ${alignment} is not a power of 2`);
      } else r.skip(VALUE_SIZE[type]);
    }

    const names = new Set<string>();
    let expectedOffset = 0;
    for (let i = 0; i < tensorCount; i++) {
      const tensor = r.text(r.stringLength(`the name of tensor ${i}`, MAX_NAME));
      if (names.has(tensor)) damaged(`duplicate tensor name ${q(tensor)}`);
      names.add(tensor);
      const dims = r.u32();
      if (dims > MAX_DIMS) damaged(`tensor ${q(tensor)} has ${dims} dimensions (at most ${MAX_DIMS})`);
      let elements = 1;
      const shape: number[] = [];
      for (let d = 0; d < dims; d++) {
        const n = r.u64();
        shape.push(n);
        elements *= n;
      }
      if (!Number.isFinite(elements) || elements > Number.MAX_SAFE_INTEGER) damaged(`tensor ${q(tensor)} has ${shape.map(show).join(' × ')} elements`);
      const type = r.u32();
      const traits = GGML_TYPE_SIZE[type];
      if (!traits) damaged(`tensor ${q(tensor)} has the unknown ggml type ${type}`);
      const [blockBytes, blockElements] = traits;
      if ((shape[0] ?? 1) % blockElements !== 0) damaged(`tensor ${q(tensor)} rows of ${shape[0]} are not whole blocks of ${blockElements}`);
      const offset = r.u64();
      if (offset !== expectedOffset) damaged(`tensor ${q(tensor)} has offset ${show(offset)}, expected ${expectedOffset}`);
      const bytes = (elements / blockElements) * blockBytes;
      expectedOffset += Math.ceil(bytes / alignment) * alignment;
      if (expectedOffset > size) damaged(`tensor ${q(tensor)} ends past the end of the file`);
    }
    const dataOffset = tensorCount > 0 ? Math.ceil(r.pos / alignment) * alignment : r.pos;
    return { version, tensorCount, kvCount, architecture, alignment, dataOffset, dataBytes: expectedOffset };
  } finally {
    closeSync(fd);
  }
}
