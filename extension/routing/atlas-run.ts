// The atlas's capture pass: each corpus item evaluated alone through the engine as a raw prompt (BOS + its first
// N tokens, no chat template: what `moe-lens generate` does without --chat), its routing aggregated by AtlasBuilder.
// Cancellable with progress. No vscode.
import { EngineError } from '../engine/errors';
import type { Engine, ModelInfo, TokenFrame } from '../engine/types';
import { AtlasBuilder, type AtlasItem, type AtlasReport } from './atlas';
import type { CorpusEntry, CorpusItem, CorpusSkip } from './atlas-corpus';

export interface AtlasRunOptions {
  /** Tokens counted per item at most (default and ceiling: what the context holds besides the BOS). */
  maxItemTokens?: number;
  permutations?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (progress: AtlasProgress) => void;
  onSkip?: (skip: CorpusSkip) => void;
}

export interface AtlasProgress {
  items: number;
  skipped: number;
  tokens: number;
  /** The item just counted. */
  item: string;
}

export interface AtlasResult extends AtlasReport {
  model: string;
  /** Inputs skipped (unreadable, binary, not UTF-8, malformed, empty, too large, no tokens). */
  skipped: number;
  /** The first 1000 of them, each with its file, line and reason. */
  skippedInputs: CorpusSkip[];
  /** Items cut at maxItemTokens. */
  truncatedItems: number;
  maxItemTokens: number;
  ms: number;
  tokensPerSecond: number;
}

export const DEFAULT_PERMUTATIONS = 200;
const LISTED_SKIPS = 1000;

/** "file:line: reason". */
export function describeSkip(s: CorpusSkip): string {
  return `${s.file}${s.line ? `:${s.line}` : ''}: ${s.reason}`;
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

/** An item's first `max` tokens without tokenizing all of a long text (a generous prefix first). */
async function itemTokens(engine: Engine, text: string, max: number): Promise<{ ids: number[]; truncated: boolean }> {
  const prefix = Math.max(4096, max * 16);
  if (text.length > prefix) {
    const ids = await engine.tokenize(text.slice(0, prefix));
    // The prefix's last tokens may merge differently in the whole text: keep a margin.
    if (ids.length >= max + 16) return { ids: ids.slice(0, max), truncated: true };
  }
  const ids = await engine.tokenize(text);
  return ids.length > max ? { ids: ids.slice(0, max), truncated: true } : { ids, truncated: false };
}

/** The routing of one item's tokens (the BOS left out). */
async function captureItem(engine: Engine, item: CorpusItem, ids: number[], bos: number, signal?: AbortSignal): Promise<AtlasItem> {
  const frames: TokenFrame[] = [];
  await engine.generate(
    { input: { kind: 'tokens', ids: bos >= 0 ? [bos, ...ids] : ids }, sampling: { maxTokens: 0 }, captureRouting: true, reuseCache: false },
    { onFrame: (frame) => frame.phase === 'prompt' && frames.push(frame), signal },
  );
  const skip = bos >= 0 ? 1 : 0;
  const n = ids.length;
  const width = frames[0] ? frames[0].layers * frames[0].k : 0;
  const experts = new Uint16Array(n * width);
  const weights = new Float32Array(n * width);
  const texts: string[] = new Array(n);
  for (const frame of frames)
    for (let i = 0; i < frame.ids.length; i++) {
      const t = frame.firstIndex + i - skip;
      if (t < 0 || t >= n) continue;
      texts[t] = frame.texts[i];
      experts.set(frame.experts.subarray(i * width, (i + 1) * width), t * width);
      weights.set(frame.weights.subarray(i * width, (i + 1) * width), t * width);
    }
  return { id: item.id, label: item.label, source: item.source, texts, ids, experts, weights };
}

/** Runs the capture pass over the corpus on the loaded model and computes the atlas. */
export async function runAtlas(engine: Engine, corpus: AsyncIterable<CorpusEntry>, options: AtlasRunOptions = {}): Promise<AtlasResult> {
  const model: ModelInfo | undefined = engine.model;
  if (!model) throw new EngineError('no-model', 'no model is loaded');
  const routing = model.routing;
  if (!routing || !routing.experts) throw new EngineError('not-moe', `${model.name} has no experts whose routing the atlas could read`);
  const ceiling = model.contextSize - 2; // the BOS, and the prompt must stay below the context
  const maxItemTokens = Math.min(options.maxItemTokens && options.maxItemTokens > 0 ? options.maxItemTokens : ceiling, ceiling);
  const builder = new AtlasBuilder({ layers: routing.moeLayers, experts: routing.experts, k: routing.expertsPerToken }, { seed: options.seed ?? 0 });
  const bos = await bosToken(engine);
  const skippedInputs: CorpusSkip[] = [];
  let skipped = 0;
  let truncatedItems = 0;
  const skip = (s: CorpusSkip) => {
    skipped++;
    if (skippedInputs.length < LISTED_SKIPS) skippedInputs.push(s);
    options.onSkip?.(s);
  };
  const start = performance.now();
  // The previous item is aggregated while the engine evaluates the next one.
  let pending: AtlasItem | undefined;
  const settle = () => {
    if (!pending) return;
    builder.add(pending);
    options.onProgress?.({ items: builder.items, skipped, tokens: builder.tokens, item: pending.id });
    pending = undefined;
  };
  for await (const entry of corpus) {
    if (options.signal?.aborted) throw new EngineError('aborted', 'atlas cancelled');
    if ('skip' in entry) {
      skip(entry.skip);
      continue;
    }
    const { ids, truncated } = await itemTokens(engine, entry.item.text, maxItemTokens);
    if (ids.length === 0) {
      skip({ file: entry.item.source.file, line: entry.item.source.line, reason: 'no tokens' });
      continue;
    }
    if (truncated) truncatedItems++;
    const next = captureItem(engine, entry.item, ids, bos, options.signal);
    await new Promise((resolve) => setImmediate(resolve)); // the request is on its way to the engine
    settle();
    pending = await next;
  }
  settle();
  if (builder.items === 0)
    throw new EngineError('too-little-text', `no item of the corpus could be read (${skipped} skipped${skippedInputs[0] ? `; the first: ${describeSkip(skippedInputs[0])}` : ''})`);
  const ms = performance.now() - start;
  const report = builder.report(options.permutations ?? DEFAULT_PERMUTATIONS);
  return {
    model: model.name,
    ...report,
    skipped,
    skippedInputs,
    truncatedItems,
    maxItemTokens,
    ms,
    tokensPerSecond: ms > 0 ? (report.tokens * 1000) / ms : 0,
  };
}
