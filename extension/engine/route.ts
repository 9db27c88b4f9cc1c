// Texts evaluated for their routing only (the routing atlas's capture pass): the helpers every engine's `route`
// shares, and the route of an engine without a native path (one generate call per text, its frames packed).
// No vscode.
import { EngineError } from './errors';
import type { Engine, RouteRequest, RouteResult, TokenFrame } from './types';

/** The most tokens a text may keep besides the BOS: the prompt must stay below the context. */
export function routeCeiling(request: RouteRequest, contextSize: number): number {
  const ceiling = contextSize - 2;
  return request.maxTokens && request.maxTokens > 0 ? Math.min(request.maxTokens, ceiling) : ceiling;
}

/** A text's first `max` tokens without tokenizing all of a long text (a generous prefix first). */
export async function firstTokens(
  tokenize: (text: string) => ArrayLike<number> | Promise<ArrayLike<number>>,
  text: string,
  max: number,
): Promise<{ ids: ArrayLike<number>; truncated: boolean }> {
  const prefix = Math.max(4096, max * 16);
  if (text.length > prefix) {
    const ids = await tokenize(text.slice(0, prefix));
    // The prefix's last tokens may merge differently in the whole text: keep a margin.
    if (ids.length >= max + 16) return { ids: Array.prototype.slice.call(ids, 0, max) as number[], truncated: true };
  }
  const ids = await tokenize(text);
  return ids.length > max ? { ids: Array.prototype.slice.call(ids, 0, max) as number[], truncated: true } : { ids, truncated: false };
}

/**
 * Token texts from their pieces (token i's bytes: bytes[offsets[i] .. offsets[i + 1])), tokens `from` to `to`. One
 * streaming decoder over all of them: a character split over byte tokens ("–" as <0xE2><0x80><0x93>) is given whole
 * to the token that completes it; the tokens before carry "" (never U+FFFD halves).
 */
export function pieceTexts(bytes: Uint8Array, offsets: ArrayLike<number>, from = 0, to = offsets.length - 1, decoder = new TextDecoder('utf-8')): string[] {
  const texts: string[] = new Array(Math.max(0, to - from));
  for (let i = from; i < to; i++) texts[i - from] = decoder.decode(bytes.subarray(offsets[i], offsets[i + 1]), { stream: true });
  return texts;
}

/** The model's BOS token id, or -1 when its vocabulary adds none (read from a one-token prompt). */
export async function bosToken(engine: Engine): Promise<number> {
  const probe = 'a';
  const plain = await engine.tokenize(probe);
  if ((await engine.countTokens({ kind: 'text', text: probe })) === plain.length) return -1;
  let first = -1;
  await engine.generate(
    { input: { kind: 'text', text: probe }, sampling: { maxTokens: 0 }, captureRouting: false, reuseCache: false },
    { onFrame: (frame) => (first = first < 0 && frame.ids.length ? frame.ids[0] : first) },
  );
  return first;
}

/** `route` through `generate`: one raw prompt (BOS + the text's first tokens) per text, its prompt frames packed. */
export async function routeByGenerate(engine: Engine, request: RouteRequest, signal?: AbortSignal): Promise<RouteResult> {
  const model = engine.model;
  if (!model) throw new EngineError('no-model', 'no model is loaded');
  const routing = model.routing;
  if (!routing?.experts) throw new EngineError('not-moe', `${model.name} has no experts whose routing could be read`);
  const start = performance.now();
  const capture = request.capture ?? true;
  const max = routeCeiling(request, model.contextSize);
  const bos = await bosToken(engine);
  const width = routing.moeLayers.length * routing.expertsPerToken;
  const lengths = new Int32Array(request.texts.length);
  const truncated = new Uint8Array(request.texts.length);
  const ids: number[] = [];
  const texts: string[] = [];
  const experts: Uint16Array[] = [];
  const weights: Float32Array[] = [];
  for (let n = 0; n < request.texts.length; n++) {
    const first = await firstTokens((text) => engine.tokenize(text), request.texts[n], max);
    if (first.ids.length === 0) continue;
    const item = Array.from(first.ids);
    const frames: TokenFrame[] = [];
    await engine.generate(
      { input: { kind: 'tokens', ids: bos >= 0 ? [bos, ...item] : item }, sampling: { maxTokens: 0 }, captureRouting: capture, reuseCache: false, intervention: request.intervention },
      { onFrame: (frame) => frame.phase === 'prompt' && frames.push(frame), signal },
    );
    const skip = bos >= 0 ? 1 : 0;
    const itemExperts = new Uint16Array(capture ? item.length * width : 0);
    const itemWeights = new Float32Array(itemExperts.length);
    const itemTexts: string[] = new Array(item.length).fill('');
    for (const frame of frames)
      for (let i = 0; i < frame.ids.length; i++) {
        const t = frame.firstIndex + i - skip;
        if (t < 0 || t >= item.length) continue;
        itemTexts[t] = frame.texts[i];
        if (!capture || frame.k * frame.layers !== width) continue;
        itemExperts.set(frame.experts.subarray(i * width, (i + 1) * width), t * width);
        itemWeights.set(frame.weights.subarray(i * width, (i + 1) * width), t * width);
      }
    lengths[n] = item.length;
    truncated[n] = first.truncated ? 1 : 0;
    ids.push(...item);
    texts.push(...itemTexts);
    experts.push(itemExperts);
    weights.push(itemWeights);
  }
  // Each token's text as its piece: decoding the pieces again gives the same texts.
  const encoder = new TextEncoder();
  const encoded = texts.map((t) => encoder.encode(t));
  const pieceOffsets = new Int32Array(encoded.length + 1);
  encoded.forEach((bytes, i) => (pieceOffsets[i + 1] = pieceOffsets[i] + bytes.length));
  const pieceBytes = new Uint8Array(pieceOffsets[encoded.length]);
  encoded.forEach((bytes, i) => pieceBytes.set(bytes, pieceOffsets[i]));
  return {
    lengths,
    truncated,
    ids: Int32Array.from(ids),
    pieceBytes,
    pieceOffsets,
    experts: concat(Uint16Array, experts),
    weights: concat(Float32Array, weights),
    k: capture ? routing.expertsPerToken : 0,
    layers: capture ? routing.moeLayers.length : 0,
    ms: performance.now() - start,
  };
}

function concat<T extends Uint16Array | Float32Array>(Type: { new (length: number): T }, parts: T[]): T {
  const out = new Type(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}
