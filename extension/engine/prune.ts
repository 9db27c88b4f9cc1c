// Expert pruning: writes a copy of a MoE GGUF without some experts (the same number in every MoE layer, since GGUF
// has one `<arch>.expert_count`).
//
// Why a writer of its own rather than llama.cpp's gguf_* API or the fixtures' writer (scripts/fixtures): the output
// must be byte-identical to the input except for the pruned axis, so the header is copied as raw bytes key by key
// (only `<arch>.expert_count` is rewritten and `moe_lens.*` keys appended), which no re-encoding writer guarantees,
// and the tensor data is streamed in one sequential pass (the gguf_* API builds the whole file's tensor list in
// memory and writes with its own buffering, with no progress, cancel or ENOSPC mapping). The header is first checked
// by gguf-header.ts's bounded validator, so this parser only reads a header known to be well formed.
//
// Layout of an expert tensor: ggml `ne` order, the expert axis outermost, so expert e of a tensor of B bytes is the
// contiguous bytes [e·B/n, (e+1)·B/n): a whole number of rows, hence of quantization blocks, for every ggml type.
// Sliced: `*_exps.*` (gate/up/down/gate_up weights, per-expert biases and scales), the router `ffn_gate_inp` weight
// and bias, and the selection bias `exp_probs_b`. Shared experts (`*_shexp`) and everything else are untouched.
//
// Provenance keys (only under `moe_lens.`): pruned_from (input file name), pruned_from_sha256 (of the whole input
// file, hashed while it is streamed and patched into the header at the end), original_expert_count, and per MoE layer
// N `moe_lens.original_experts.N`: the original id of each kept expert. Pruning a pruned file composes the ids.
// No vscode import.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, stat, statfs, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { EngineError } from './errors';
import { ARRAY as T_ARRAY, GGML_TYPE_SIZE, STRING as T_STRING, UINT32 as T_UINT32, VALUE_SIZE, validateGgufHeader } from './gguf-header';
import { parseInterventionSpec } from './intervention';

export const PROVENANCE_PREFIX = 'moe_lens.';
const ORIGINAL_EXPERTS = `${PROVENANCE_PREFIX}original_experts.`;
const HASH_PLACEHOLDER = '0'.repeat(64);
const CHUNK = 4 << 20;

type Scalar = number | bigint | boolean | string;

interface RawKv {
  key: string;
  type: number;
  /** The whole entry's bytes in the header (key length, key, type, value). */
  start: number;
  end: number;
  /** Decoded scalars and strings, and arrays of integers; undefined for other arrays. */
  value: Scalar | number[] | undefined;
}

export interface LayoutTensor {
  name: string;
  shape: number[];
  type: number;
  /** Absolute offset in the file and data bytes (unpadded). */
  offset: number;
  bytes: number;
}

export interface GgufLayout {
  file: string;
  version: number;
  kvs: RawKv[];
  tensors: LayoutTensor[];
  alignment: number;
  dataOffset: number;
  fileSize: number;
  header: Buffer;
}

/** The MoE facts pruning needs, from the header. */
export interface MoeShape {
  name: string;
  architecture: string;
  experts: number;
  expertsPerToken: number;
  /** Expert groups of the router (deepseek2's `expert_group_count`); 1 without groups. */
  groups: number;
  moeLayers: number[];
  /** Per MoE layer, the original id of each expert (the identity unless the file was pruned before). */
  originalIds: Map<number, number[]>;
  originalExperts: number;
}

function decodeScalar(buf: Buffer, pos: number, type: number): [Scalar, number] {
  switch (type) {
    case 0: return [buf.readUInt8(pos), pos + 1];
    case 1: return [buf.readInt8(pos), pos + 1];
    case 2: return [buf.readUInt16LE(pos), pos + 2];
    case 3: return [buf.readInt16LE(pos), pos + 2];
    case 4: return [buf.readUInt32LE(pos), pos + 4];
    case 5: return [buf.readInt32LE(pos), pos + 4];
    case 6: return [buf.readFloatLE(pos), pos + 4];
    case 7: return [buf.readUInt8(pos) !== 0, pos + 1];
    case 8: {
      const n = Number(buf.readBigUInt64LE(pos));
      return [buf.toString('utf8', pos + 8, pos + 8 + n), pos + 8 + n];
    }
    case 10: return [buf.readBigUInt64LE(pos), pos + 8];
    case 11: return [buf.readBigInt64LE(pos), pos + 8];
    case 12: return [buf.readDoubleLE(pos), pos + 8];
    default: throw new EngineError('truncated-gguf', `unknown GGUF value type ${type}`);
  }
}

/** Reads the header of a GGUF file (validated first, so every count and length here is in bounds). */
export async function readGgufLayout(file: string): Promise<GgufLayout> {
  const stats = await stat(file).catch(() => undefined);
  if (!stats) throw new EngineError('file-not-found', `model file not found: ${file}`);
  if (!stats.isFile()) throw new EngineError('not-a-file', `not a file: ${file}`);
  const facts = validateGgufHeader(file, path.basename(file), stats.size);
  const header = Buffer.alloc(facts.dataOffset);
  const fh = await open(file, 'r');
  try {
    await fh.read(header, 0, header.length, 0);
  } finally {
    await fh.close();
  }
  let pos = 24;
  const kvs: RawKv[] = [];
  for (let i = 0; i < facts.kvCount; i++) {
    const start = pos;
    const [key, afterKey] = decodeScalar(header, pos, T_STRING) as [string, number];
    const type = header.readUInt32LE(afterKey);
    pos = afterKey + 4;
    let value: RawKv['value'];
    if (type === T_ARRAY) {
      const elem = header.readUInt32LE(pos);
      const count = Number(header.readBigUInt64LE(pos + 4));
      pos += 12;
      const items: number[] = [];
      for (let j = 0; j < count; j++) {
        const [v, next] = decodeScalar(header, pos, elem);
        if (typeof v === 'number' && elem !== 6 && elem !== 12) items.push(v);
        pos = next;
      }
      value = items.length === count ? items : undefined;
    } else [value, pos] = decodeScalar(header, pos, type);
    kvs.push({ key, type, start, end: pos, value });
  }
  const tensors: LayoutTensor[] = [];
  for (let i = 0; i < facts.tensorCount; i++) {
    const [name, afterName] = decodeScalar(header, pos, T_STRING) as [string, number];
    const dims = header.readUInt32LE(afterName);
    pos = afterName + 4;
    const shape: number[] = [];
    for (let d = 0; d < dims; d++, pos += 8) shape.push(Number(header.readBigUInt64LE(pos)));
    const type = header.readUInt32LE(pos);
    const offset = Number(header.readBigUInt64LE(pos + 4));
    pos += 12;
    const [blockBytes, blockElements] = GGML_TYPE_SIZE[type];
    const bytes = (shape.reduce((a, b) => a * b, 1) / blockElements) * blockBytes;
    tensors.push({ name, shape, type, offset: facts.dataOffset + offset, bytes });
  }
  return { file, version: facts.version, kvs, tensors, alignment: facts.alignment, dataOffset: facts.dataOffset, fileSize: stats.size, header };
}

export function kvValue(layout: GgufLayout, key: string): RawKv['value'] {
  return layout.kvs.find((k) => k.key === key)?.value;
}

export function kvNumber(layout: GgufLayout, key: string): number | undefined {
  const v = kvValue(layout, key);
  return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined;
}

const ROUTER = /^blk\.(\d+)\.ffn_gate_inp\.weight$/;
/** Tensors whose outermost axis is the expert axis. */
const PER_EXPERT = /^blk\.(\d+)\.(ffn_\w+_exps\.\w+|ffn_gate_inp\.(weight|bias)|exp_probs_b\.bias)$/;

export function moeShape(layout: GgufLayout): MoeShape {
  const name = path.basename(layout.file);
  const architecture = String(kvValue(layout, 'general.architecture') ?? '');
  const experts = kvNumber(layout, `${architecture}.expert_count`) ?? 0;
  const moeLayers = layout.tensors.flatMap((t) => ROUTER.exec(t.name)?.[1] ?? []).map(Number).sort((a, b) => a - b);
  if (experts < 1 || moeLayers.length === 0)
    throw new EngineError('not-moe', `${name} is a dense model (no experts): there are no experts to prune`);
  const identity = [...Array(experts).keys()];
  const originalIds = new Map(
    moeLayers.map((layer) => {
      const ids = kvValue(layout, `${ORIGINAL_EXPERTS}${layer}`);
      return [layer, Array.isArray(ids) && ids.length === experts ? ids : identity];
    }),
  );
  return {
    name,
    architecture,
    experts,
    expertsPerToken: kvNumber(layout, `${architecture}.expert_used_count`) ?? 0,
    groups: Math.max(1, kvNumber(layout, `${architecture}.expert_group_count`) ?? 1),
    moeLayers,
    originalIds,
    originalExperts: kvNumber(layout, `${PROVENANCE_PREFIX}original_expert_count`) ?? experts,
  };
}

/** What to remove: per MoE layer (every one of them), the experts removed and kept, in this file's ids. */
export interface PrunePlan {
  experts: number;
  keepCount: number;
  layers: { layer: number; remove: number[]; keep: number[] }[];
}

const refuse = (message: string): never => {
  throw new EngineError('bad-prune', message);
};

/** Validates a removal (layer → experts, `*` for every MoE layer) against the model; refusals are one line. */
export function planPrune(shape: MoeShape, removal: Record<string, number[]>): PrunePlan {
  const { name, experts, expertsPerToken: k, groups, moeLayers } = shape;
  const byLayer = new Map<number, Set<number>>(moeLayers.map((l) => [l, new Set()]));
  for (const [key, list] of Object.entries(removal)) {
    for (const e of list)
      if (!Number.isInteger(e) || e < 0 || e >= experts)
        refuse(`expert ${e} is out of range: ${name} has ${experts} experts per layer (0–${experts - 1})`);
    for (const layer of key === '*' ? moeLayers : [Number(key)]) {
      const set = byLayer.get(layer) ?? refuse(`layer ${key} is not a MoE layer of ${name} (MoE layers: ${moeLayers.join(', ')})`);
      for (const e of list) set.add(e);
    }
  }
  const counts = [...byLayer.values()].map((s) => s.size);
  const removed = counts[0];
  if (counts.some((c) => c !== removed))
    refuse(
      `every MoE layer must lose the same number of experts (GGUF has one expert_count), but this removes ` +
        [...byLayer].map(([l, s]) => `${s.size} in layer ${l}`).join(', '),
    );
  if (removed === 0) refuse('nothing to remove: the SPEC names no expert');
  const keepCount = experts - removed;
  if (keepCount < k)
    refuse(`removing ${removed} of ${experts} experts leaves ${keepCount}, fewer than the ${k} the router picks per token (expert_used_count)`);
  if (groups > 1) {
    const size = experts / groups;
    for (const [layer, set] of byLayer) {
      const perGroup = Array.from({ length: groups }, (_, g) => [...set].filter((e) => Math.floor(e / size) === g).length);
      if (perGroup.some((n) => n !== perGroup[0]))
        refuse(
          `${name} routes through ${groups} expert groups of ${size}: every group must lose the same number of experts, ` +
            `but layer ${layer} loses ${perGroup.join(', ')} from groups 0–${groups - 1}`,
        );
    }
  }
  return {
    experts,
    keepCount,
    layers: [...byLayer].map(([layer, set]) => ({
      layer,
      remove: [...set].sort((a, b) => a - b),
      keep: [...Array(experts).keys()].filter((e) => !set.has(e)),
    })),
  };
}

/** `--remove SPEC` (the `--ablate` syntax) against the model. */
export function planFromSpec(shape: MoeShape, spec: string): PrunePlan {
  let removal: Record<string, number[]>;
  try {
    removal = parseInterventionSpec(spec, 'ablate');
  } catch (error) {
    throw new EngineError('bad-prune', (error as Error).message.replace('--ablate', '--remove'));
  }
  return planPrune(shape, removal);
}

/** The SPEC of a plan (for logs and --json): `1:0,3;2:5,6`. */
export function formatPlan(plan: PrunePlan): string {
  return plan.layers.map((l) => `${l.layer}:${l.remove.join(',')}`).join(';');
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

function isPerExpert(t: LayoutTensor, plan: PrunePlan, layers: Map<number, PrunePlan['layers'][number]>): boolean {
  const m = PER_EXPERT.exec(t.name);
  if (!m || !layers.has(Number(m[1]))) return false;
  if (t.shape[t.shape.length - 1] !== plan.experts)
    refuse(`${t.name} has shape ${t.shape.join('×')}: its outermost axis is not the ${plan.experts} experts, a layout this pruner does not know`);
  return true;
}

type Op = { copy: boolean; from: number; length: number } | { zeros: number };

interface PrunedHeader {
  header: Buffer;
  /** Where the input hash goes in `header`. */
  hashAt: number;
  ops: Op[];
  size: number;
  tensors: { name: string; bytes: number }[];
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([len, bytes]);
}
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

/** The pruned file's header, its size, and the read/copy plan over the input that produces its data. */
function buildPruned(layout: GgufLayout, shape: MoeShape, plan: PrunePlan): PrunedHeader {
  const layers = new Map(plan.layers.map((l) => [l.layer, l]));
  const countKey = `${shape.architecture}.expert_count`;
  const parts: Buffer[] = [layout.header.subarray(0, 4), u32(layout.version)];
  const kept = layout.kvs.filter((k) => !k.key.startsWith(PROVENANCE_PREFIX));
  const provenance: Buffer[] = [];
  const kv = (key: string, type: number, value: Buffer) => provenance.push(Buffer.concat([str(key), u32(type), value]));
  kv(`${PROVENANCE_PREFIX}pruned_from`, T_STRING, str(shape.name));
  const hashKey = Buffer.concat([str(`${PROVENANCE_PREFIX}pruned_from_sha256`), u32(T_STRING), str(HASH_PLACEHOLDER)]);
  provenance.push(hashKey);
  kv(`${PROVENANCE_PREFIX}original_expert_count`, T_UINT32, u32(shape.originalExperts));
  for (const l of plan.layers) {
    const ids = l.keep.map((e) => shape.originalIds.get(l.layer)![e]);
    kv(`${ORIGINAL_EXPERTS}${l.layer}`, T_ARRAY, Buffer.concat([u32(T_UINT32), u64(ids.length), ...ids.map(u32)]));
  }
  parts.push(u64(layout.tensors.length), u64(kept.length + provenance.length));
  for (const k of kept) {
    if (k.key === countKey) {
      const value = Buffer.alloc(VALUE_SIZE[k.type]);
      if (k.type === T_UINT32) value.writeUInt32LE(plan.keepCount);
      else if (VALUE_SIZE[k.type] === 8) value.writeBigUInt64LE(BigInt(plan.keepCount));
      else refuse(`${countKey} has value type ${k.type}, not an unsigned integer`);
      parts.push(str(k.key), u32(k.type), value);
    } else parts.push(layout.header.subarray(k.start, k.end));
  }
  parts.push(...provenance);
  // The placeholder is the last bytes of its entry.
  const hashAt = parts.slice(0, parts.indexOf(hashKey) + 1).reduce((n, b) => n + b.length, 0) - HASH_PLACEHOLDER.length;

  const ops: Op[] = [{ copy: false, from: 0, length: layout.dataOffset }];
  const tensors: { name: string; bytes: number }[] = [];
  let dataSize = 0;
  let inputPos = layout.dataOffset;
  for (const t of layout.tensors) {
    const sliced = isPerExpert(t, plan, layers);
    const outShape = sliced ? [...t.shape.slice(0, -1), plan.keepCount] : t.shape;
    const outBytes = sliced ? (t.bytes / plan.experts) * plan.keepCount : t.bytes;
    parts.push(str(t.name), u32(outShape.length), ...outShape.map(u64), u32(t.type), u64(dataSize));
    if (t.offset > inputPos) ops.push({ copy: false, from: inputPos, length: t.offset - inputPos });
    if (sliced) {
      const per = t.bytes / plan.experts;
      const keep = new Set(layers.get(Number(PER_EXPERT.exec(t.name)![1]))!.keep);
      for (let e = 0; e < plan.experts; e++) ops.push({ copy: keep.has(e), from: t.offset + e * per, length: per });
    } else ops.push({ copy: true, from: t.offset, length: t.bytes });
    inputPos = t.offset + t.bytes;
    const padded = alignUp(outBytes, layout.alignment);
    if (padded > outBytes) ops.push({ zeros: padded - outBytes });
    tensors.push({ name: t.name, bytes: outBytes });
    dataSize += padded;
  }
  if (layout.fileSize > inputPos) ops.push({ copy: false, from: inputPos, length: layout.fileSize - inputPos });
  const headerLength = parts.reduce((n, b) => n + b.length, 0);
  const header = Buffer.concat([...parts, Buffer.alloc(alignUp(headerLength, layout.alignment) - headerLength)]);
  return { header, hashAt, ops, size: header.length + dataSize, tensors };
}

/** The pruned file's size in bytes (exact), without writing it. */
export function prunedSize(layout: GgufLayout, plan: PrunePlan): number {
  return buildPruned(layout, moeShape(layout), plan).size;
}

export interface PruneProgress {
  bytesRead: number;
  bytesTotal: number;
}

export interface PruneResult {
  output: string;
  inputBytes: number;
  outputBytes: number;
  inputSha256: string;
  ms: number;
}

export interface PruneOptions {
  signal?: AbortSignal;
  onProgress?: (p: PruneProgress) => void;
  /** Skip the free-space check before writing (tests of a disk filling up mid-write). */
  skipSpaceCheck?: boolean;
}

/** Why a file cannot be created in a folder, in words. */
const FOLDER_ERRORS: Record<string, string> = {
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'that is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the disk is read-only',
};

function diskFull(output: string, needed: number, free?: number): EngineError {
  return new EngineError(
    'disk-full',
    `not enough disk space in ${path.dirname(output)} to write ${path.basename(output)}: it needs ${needed} bytes` +
      (free === undefined ? '' : `, ${free} are free`),
  );
}

/**
 * Writes `output` as `input` without the plan's experts: a temporary file beside it, renamed at the end; on any
 * failure or cancel the temporary file is removed and nothing else has changed. The input is only read.
 */
export async function writePruned(input: string, output: string, plan: PrunePlan, options: PruneOptions = {}): Promise<PruneResult> {
  const start = performance.now();
  const layout = await readGgufLayout(input);
  const shape = moeShape(layout);
  const target = path.resolve(output);
  const inStat = await stat(input);
  const outStat = await stat(target).catch(() => undefined);
  if (path.resolve(input) === target || (outStat && outStat.ino === inStat.ino && outStat.dev === inStat.dev))
    refuse(`the output ${output} is the input: write the pruned model to another file`);
  const pruned = buildPruned(layout, shape, plan);
  if (!options.skipSpaceCheck) {
    const fs = await statfs(path.dirname(target)).catch(() => undefined);
    if (fs && fs.bavail * fs.bsize < pruned.size) throw diskFull(target, pruned.size, fs.bavail * fs.bsize);
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.prune-tmp`);
  let inFh: FileHandle | undefined;
  let outFh: FileHandle | undefined;
  try {
    inFh = await open(input, constants.O_RDONLY);
    outFh = await open(tmp, 'wx').catch((error: NodeJS.ErrnoException) => {
      throw new EngineError('not-a-file', `cannot write ${path.basename(target)} in ${path.dirname(target)}: ${FOLDER_ERRORS[error.code ?? ''] ?? error.message}`);
    });
    const hash = createHash('sha256');
    const fileSize = layout.fileSize;
    let outPos = await writeAll(outFh, [pruned.header], 0);
    // Two buffers: the next chunk is read, and this one written, while this one is hashed.
    const buffers = [Buffer.allocUnsafe(Math.min(CHUNK, fileSize)), Buffer.allocUnsafe(Math.min(CHUNK, fileSize))];
    const readAt = async (pos: number, buf: Buffer): Promise<Buffer> => {
      const want = Math.min(buf.length, fileSize - pos);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await inFh!.read(buf, got, want - got, pos + got);
        if (bytesRead === 0) throw new EngineError('truncated-gguf', `${shape.name} ended while it was read (did it change?)`);
        got += bytesRead;
      }
      return buf.subarray(0, want);
    };
    let op = 0;
    let opDone = 0;
    let next: Promise<Buffer> | undefined = readAt(0, buffers[0]);
    for (let chunk = 0, pos = 0; next; chunk++) {
      if (options.signal?.aborted) throw new EngineError('aborted', 'pruning was cancelled');
      const data: Buffer = await next;
      const end: number = pos + data.length;
      next = end < fileSize ? readAt(end, buffers[(chunk + 1) % 2]) : undefined;
      // The output pieces of this chunk: the ops cover the input contiguously, in order.
      const pieces: Buffer[] = [];
      while (op < pruned.ops.length) {
        const o = pruned.ops[op];
        if ('zeros' in o) {
          pieces.push(Buffer.alloc(o.zeros));
          op++;
          continue;
        }
        if (o.from + opDone >= end) break;
        const n = Math.min(o.length - opDone, end - (o.from + opDone));
        if (o.copy) pieces.push(data.subarray(o.from + opDone - pos, o.from + opDone - pos + n));
        opDone += n;
        if (opDone === o.length) {
          op++;
          opDone = 0;
        }
      }
      const writing = writeAll(outFh, pieces, outPos);
      hash.update(data);
      outPos = await writing;
      pos = end;
      options.onProgress?.({ bytesRead: end, bytesTotal: fileSize });
    }
    const inputSha256 = hash.digest('hex');
    await outFh.write(Buffer.from(inputSha256, 'ascii'), 0, 64, pruned.hashAt);
    await outFh.sync();
    await outFh.close();
    outFh = undefined;
    await rename(tmp, target);
    return { output: target, inputBytes: layout.fileSize, outputBytes: pruned.size, inputSha256, ms: performance.now() - start };
  } catch (error) {
    await outFh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(target, pruned.size);
    throw error;
  } finally {
    await inFh?.close();
  }
}

/** Writes the pieces one after another from `pos` (gathered: no copy); returns the position after them. */
async function writeAll(fh: FileHandle, pieces: Buffer[], pos: number): Promise<number> {
  const rest = pieces.filter((p) => p.length > 0);
  while (rest.length) {
    let { bytesWritten } = await fh.writev(rest, pos);
    pos += bytesWritten;
    // A short write: drop what was written and go on with the rest.
    while (rest.length && bytesWritten >= rest[0].length) bytesWritten -= rest.shift()!.length;
    if (rest.length && bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
  }
  return pos;
}
