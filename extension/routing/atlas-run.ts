// The atlas's capture pass: each corpus item evaluated alone through the engine as a raw prompt (BOS + its first
// N tokens, no chat template: what `moe-lens generate` does without --chat), its routing aggregated by AtlasBuilder.
// Cancellable with progress; resumable from a checkpoint file. No vscode.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { EngineError } from '../engine/errors';
import { pieceTexts } from '../engine/route';
import type { PrunedIds } from '../engine/original-experts';
import type { Engine, ModelInfo, RouteResult } from '../engine/types';
import { AtlasBuilder, type AtlasItem, type AtlasReport, type AtlasSnapshot } from './atlas';
import type { CorpusEntry, CorpusItem, CorpusSkip } from './atlas-corpus';

export interface AtlasRunOptions {
  /** Tokens counted per item at most (default and ceiling: what the context holds besides the BOS). */
  maxItemTokens?: number;
  permutations?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (progress: AtlasProgress) => void;
  onSkip?: (skip: CorpusSkip) => void;
  /**
   * Resumable: the state is saved to `file` after an engine batch at most every `everyMs` (default 5 s) and when the
   * run fails or is cancelled; a run given a file whose `key` matches continues after the items it holds; the file is
   * removed when the atlas is complete. `key` names everything the counts depend on (model, corpus, options).
   */
  checkpoint?: { file: string; key: string; everyMs?: number };
}

/** What a checkpoint file holds. */
interface AtlasCheckpoint {
  version: 1;
  key: string;
  /** Corpus entries (items and skipped inputs) done, in corpus order. */
  entries: number;
  skipped: number;
  skippedInputs: CorpusSkip[];
  truncatedItems: number;
  /** Capture time spent before. */
  ms: number;
  builder: AtlasSnapshot;
}

/** The checkpoint in `file` if it is one for `key`; undefined when there is none or it is another run's. */
export function readCheckpoint(file: string, key: string): AtlasCheckpoint | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const checkpoint = JSON.parse(text) as AtlasCheckpoint;
    return checkpoint?.version === 1 && checkpoint.key === key ? checkpoint : undefined;
  } catch {
    return undefined; // a file cut short by a crash while it was written is never renamed into place; anything else starts afresh
  }
}

export interface AtlasProgress {
  items: number;
  skipped: number;
  tokens: number;
  /** The item just counted. */
  item: string;
}

/** For a pruned model (`moe-lens prune`), `originalExpertIds` and `originalExperts`: its slots' ids in the model it was pruned from. */
export interface AtlasResult extends AtlasReport, PrunedIds {
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
  /** Items taken from a checkpoint (a resumed run); 0 otherwise. */
  resumedItems: number;
}

export const DEFAULT_PERMUTATIONS = 200;
const LISTED_SKIPS = 1000;

/** "file:line: reason". */
export function describeSkip(s: CorpusSkip): string {
  return `${s.file}${s.line ? `:${s.line}` : ''}: ${s.reason}`;
}

/** Items per engine call at most, and the characters (each item's counted up to 16 per token kept) that end a batch early. */
export const BATCH_ITEMS = 64;
export const BATCH_CHARS = 8192;

/** One engine call's items and their routing as AtlasItems (views into the packed result, texts decoded); null for an item of no tokens. */
function atlasItems(batch: CorpusItem[], result: RouteResult): (AtlasItem & { truncated: boolean } | null)[] {
  const width = result.layers * result.k;
  let at = 0;
  return batch.map(({ id, label, source }, n) => {
    const length = result.lengths[n];
    if (length === 0) return null;
    const item = {
      id,
      label,
      source,
      truncated: result.truncated[n] === 1,
      texts: pieceTexts(result.pieceBytes, result.pieceOffsets, at, at + length),
      ids: result.ids.subarray(at, at + length),
      experts: result.experts.subarray(at * width, (at + length) * width),
      weights: result.weights.subarray(at * width, (at + length) * width),
    };
    at += length;
    return item;
  });
}

/** Runs the capture pass over the corpus on the loaded model and computes the atlas. */
export async function runAtlas(engine: Engine, corpus: AsyncIterable<CorpusEntry>, options: AtlasRunOptions = {}): Promise<AtlasResult> {
  const model: ModelInfo | undefined = engine.model;
  if (!model) throw new EngineError('no-model', 'no model is loaded');
  const routing = model.routing;
  if (!routing || !routing.experts) throw new EngineError('not-moe', `${model.name} has no experts whose routing the atlas could read`);
  const ceiling = model.contextSize - 2; // the BOS, and the prompt must stay below the context
  const maxItemTokens = Math.min(options.maxItemTokens && options.maxItemTokens > 0 ? options.maxItemTokens : ceiling, ceiling);
  const shape = { layers: routing.moeLayers, experts: routing.experts, k: routing.expertsPerToken };
  const saved = options.checkpoint && readCheckpoint(options.checkpoint.file, options.checkpoint.key);
  const builder = saved ? AtlasBuilder.restore(saved.builder) : new AtlasBuilder(shape, { seed: options.seed ?? 0 });
  if (builder.shape.experts !== shape.experts || builder.shape.k !== shape.k || builder.shape.layers.join() !== shape.layers.join())
    throw new EngineError('internal', `the atlas checkpoint ${options.checkpoint?.file} is for another routing shape`);
  const resumedItems = builder.items;
  const skippedInputs: CorpusSkip[] = saved?.skippedInputs ?? [];
  let skipped = saved?.skipped ?? 0;
  let truncatedItems = saved?.truncatedItems ?? 0;
  let entriesDone = saved?.entries ?? 0;
  const skip = (s: CorpusSkip) => {
    skipped++;
    if (skippedInputs.length < LISTED_SKIPS) skippedInputs.push(s);
    options.onSkip?.(s);
  };
  const start = performance.now();
  let savedAt = start;
  let savedEntries = entriesDone;
  const save = () => {
    if (!options.checkpoint || entriesDone === savedEntries) return;
    const { file, key } = options.checkpoint;
    const checkpoint: AtlasCheckpoint = { version: 1, key, entries: entriesDone, skipped, skippedInputs, truncatedItems, ms: (saved?.ms ?? 0) + performance.now() - start, builder: builder.snapshot() };
    // Written whole, then renamed over the last one: a crash mid-write leaves the previous checkpoint.
    writeFileSync(`${file}.tmp`, JSON.stringify(checkpoint));
    renameSync(`${file}.tmp`, file);
    savedAt = performance.now();
    savedEntries = entriesDone;
  };
  // Entries go to the engine in batches (one call each); a batch is aggregated while the engine evaluates the next.
  // A batch holds the corpus's skips too, so that after each batch the aggregates hold exactly its first entries.
  type Batch = { entries: CorpusEntry[]; items: CorpusItem[]; chars: number };
  const evaluate = async (batch: Batch) =>
    ({ batch, result: batch.items.length ? await engine.routeTexts({ texts: batch.items.map((item) => item.text), maxTokens: maxItemTokens }, options.signal) : undefined });
  const aggregate = ({ batch, result }: Awaited<ReturnType<typeof evaluate>>) => {
    const items = result ? atlasItems(batch.items, result) : [];
    for (let e = 0, n = 0; e < batch.entries.length; e++) {
      const entry = batch.entries[e];
      if ('skip' in entry) {
        skip(entry.skip);
        continue;
      }
      const item = items[n++];
      if (!item) skip({ file: entry.item.source.file, line: entry.item.source.line, reason: 'no tokens' });
      else {
        truncatedItems += item.truncated ? 1 : 0;
        builder.add(item);
        options.onProgress?.({ items: builder.items, skipped, tokens: builder.tokens, item: item.id });
      }
    }
    entriesDone += batch.entries.length;
    if (performance.now() - savedAt >= (options.checkpoint?.everyMs ?? 5000)) save();
  };
  let pending: ReturnType<typeof evaluate> | undefined;
  let batch: Batch = { entries: [], items: [], chars: 0 };
  const send = async () => {
    const done = pending && (await pending); // the engine is free again
    pending = evaluate(batch);
    pending.catch(() => undefined); // awaited later; a failure meanwhile must not count as unhandled
    batch = { entries: [], items: [], chars: 0 };
    if (done) aggregate(done);
  };
  let index = 0;
  try {
    for await (const entry of corpus) {
      if (options.signal?.aborted) throw new EngineError('aborted', 'atlas cancelled');
      if (index++ < entriesDone) continue; // done before the checkpoint
      batch.entries.push(entry);
      if ('item' in entry) {
        batch.items.push(entry.item);
        batch.chars += Math.min(entry.item.text.length, maxItemTokens * 16);
      }
      if (batch.items.length >= BATCH_ITEMS || batch.chars >= BATCH_CHARS) await send();
    }
    if (batch.entries.length) await send();
    if (pending) aggregate(await pending);
  } catch (error) {
    // Cancelled, or the engine failed: what was aggregated is kept for the next run.
    if (options.checkpoint && entriesDone > 0) {
      save();
      if (error instanceof EngineError)
        throw new EngineError(error.code, `${error.message}; ${builder.items} items are saved in ${options.checkpoint.file}, and the same run continues from there`);
    }
    throw error;
  }
  if (builder.items === 0)
    throw new EngineError('too-little-text', `no item of the corpus could be read (${skipped} skipped${skippedInputs[0] ? `; the first: ${describeSkip(skippedInputs[0])}` : ''})`);
  const ms = (saved?.ms ?? 0) + performance.now() - start;
  const report = builder.report(options.permutations ?? DEFAULT_PERMUTATIONS);
  if (options.checkpoint) rmSync(options.checkpoint.file, { force: true });
  const { originalExpertIds, originalExperts } = routing;
  return {
    model: model.name,
    ...(originalExpertIds && originalExperts !== undefined ? { originalExpertIds, originalExperts } : {}),
    ...report,
    skipped,
    skippedInputs,
    truncatedItems,
    maxItemTokens,
    ms,
    tokensPerSecond: ms > 0 ? (report.tokens * 1000) / ms : 0,
    resumedItems,
  };
}
