// Routing blocks that crossed a postMessage boundary may arrive as typed arrays (structured clone), plain
// arrays, or {"0":…} objects (JSON of a typed array). Turn any of them back into a proper RoutingBlock.

import type { RoutingBlock } from '../protocol';

type ArrayCtor<T> = { new (n: number): T; from(a: ArrayLike<number>): T };

function toTyped<T extends Int32Array | Uint16Array | Float32Array>(value: unknown, Ctor: ArrayCtor<T>): T {
  if (value instanceof (Ctor as unknown as typeof Int32Array)) return value as T;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) return Ctor.from(value as ArrayLike<number>);
  if (value instanceof ArrayBuffer) return Ctor.from(new (Ctor as unknown as typeof Int32Array)(value));
  if (value && typeof value === 'object') {
    const obj = value as Record<string, number>;
    const length = typeof obj.length === 'number' ? obj.length : Object.keys(obj).length;
    const out = new Ctor(length);
    for (let i = 0; i < length; i++) (out as unknown as number[])[i] = Number(obj[i] ?? 0);
    return out;
  }
  return new Ctor(0);
}

export function normalizeRoutingBlock(raw: RoutingBlock): RoutingBlock {
  const ids = toTyped(raw.ids, Int32Array);
  return {
    firstIndex: Number(raw.firstIndex) || 0,
    phase: raw.phase === 'prompt' ? 'prompt' : 'generated',
    ids,
    texts: Array.isArray(raw.texts) ? raw.texts.map((t) => String(t ?? '')) : Array.from({ length: ids.length }, () => ''),
    experts: toTyped(raw.experts, Uint16Array),
    weights: toTyped(raw.weights, Float32Array),
    k: Number(raw.k) || 0,
    layers: Number(raw.layers) || 0,
  };
}
