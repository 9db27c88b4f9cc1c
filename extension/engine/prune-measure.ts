// Measuring a pruned model beside its original, the same way for the CLI (`moe-lens prune`) and VS Code (Compare):
// perplexity on the text (same context and chunks for both), decode speed, file size, and where the weights went.
// The engine holds one model: comparePruned measures the loaded original, then loads the pruned file with the same
// load options and measures it; putting the original back is the caller's (the CLI exits, VS Code's session reloads).
// No vscode import.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { kvNumber, kvValue, moeShape, planPrune, readGgufLayout, type PrunePlan } from './prune';
import { validOriginalIds } from './original-experts';
import { EngineError } from './errors';
import type { Engine, LocalLoadOptions, PerplexityResult, PlacementReport } from './types';

/** What the figures are measured on: the text (none: no perplexity), its chunking, and the tokens decoded. */
export interface MeasureRequest {
  text?: string;
  context?: number;
  chunks?: number;
  /** Greedy tokens generated to time the decode speed. */
  tokens: number;
}

export interface ModelMeasurement {
  /** Perplexity on the text (± its stderr); null without a text. */
  perplexity: Pick<PerplexityResult, 'perplexity' | 'stderr' | 'context' | 'chunks'> | null;
  decodeTokensPerSecond: number;
  /** The GGUF file's size. */
  bytes: number;
  /** Where the engine put the weights (absent for a server). */
  placement?: PlacementReport;
}

export interface PrunedComparison {
  original: ModelMeasurement;
  pruned: ModelMeasurement;
}

/** Decode speed: greedy tokens after a short prompt, no routing capture. */
async function decodeSpeed(engine: Engine, tokens: number, signal?: AbortSignal): Promise<number> {
  const r = await engine.generate(
    { input: { kind: 'text', text: 'The' }, sampling: { temperature: 0, maxTokens: tokens, repeatPenalty: 1, stop: [] }, captureRouting: false, reuseCache: false },
    { onFrame: () => undefined, signal },
  );
  return r.generatedTokensPerSecond;
}

/**
 * Measures the loaded model. `known`: its perplexity already measured on the same text, context and chunks (the
 * scoring pass's baseline), used instead of measuring it again.
 */
export async function measureModel(engine: Engine, request: MeasureRequest, signal?: AbortSignal, known?: PerplexityResult): Promise<ModelMeasurement> {
  const model = engine.model;
  if (!model) throw new Error('measureModel: no model is loaded');
  const { text, context, chunks } = request;
  const ppl = text === undefined ? null : (known ?? (await engine.perplexity({ text, context, chunks }, { signal })));
  return {
    perplexity: ppl && { perplexity: ppl.perplexity, stderr: ppl.stderr, context: ppl.context, chunks: ppl.chunks },
    decodeTokensPerSecond: await decodeSpeed(engine, request.tokens, signal),
    bytes: (await stat(model.path)).size,
    ...(model.placement ? { placement: model.placement } : {}),
  };
}

/**
 * The loaded original (loaded with `options`) and the pruned file at `prunedPath`, loaded with the same options,
 * measured alike. Leaves the pruned model loaded (or none, when cancelled or failed while loading it).
 */
export async function comparePruned(
  engine: Engine,
  options: LocalLoadOptions,
  prunedPath: string,
  request: MeasureRequest,
  callbacks: { signal?: AbortSignal; known?: PerplexityResult; onStep?: (step: 'original' | 'loading' | 'pruned') => void } = {},
): Promise<PrunedComparison> {
  const { signal } = callbacks;
  callbacks.onStep?.('original');
  const original = await measureModel(engine, request, signal, callbacks.known);
  callbacks.onStep?.('loading');
  await engine.load({ ...options, modelPath: prunedPath }, signal);
  callbacks.onStep?.('pruned');
  // The same chunking as the original's (its context may have come from the loaded context size).
  const same = original.perplexity ? { ...request, context: original.perplexity.context, chunks: request.chunks ?? original.perplexity.chunks } : request;
  const pruned = await measureModel(engine, same, signal);
  return { original, pruned };
}

/**
 * Checks that `originalPath` is the file `prunedPath` was pruned from (its sha256, hashed with progress and cancel)
 * and returns the removal as a plan of the original (which experts went, per MoE layer).
 */
export async function checkPrunedFrom(
  prunedPath: string,
  originalPath: string,
  callbacks: { signal?: AbortSignal; onProgress?: (bytesRead: number, bytesTotal: number) => void } = {},
): Promise<PrunePlan> {
  // The provenance `moe-lens prune` writes (prune.ts), read and validated as the engine reads it (original-experts.ts).
  const pruned = await readGgufLayout(prunedPath);
  const sha = kvValue(pruned, 'moe_lens.pruned_from_sha256');
  if (typeof sha !== 'string') throw new EngineError('bad-prune', `${path.basename(prunedPath)} is not a pruned model: it has no moe_lens.pruned_from_sha256`);
  const original = await readGgufLayout(originalPath);
  const shape = moeShape(original);
  const prunedShape = moeShape(pruned);
  const rows = Object.fromEntries(shape.moeLayers.map((layer) => [layer, kvValue(pruned, `moe_lens.original_experts.${layer}`)]));
  const { originalExpertIds } = validOriginalIds(rows, prunedShape.moeLayers, prunedShape.experts, kvNumber(pruned, 'moe_lens.original_expert_count'));
  if (!originalExpertIds || kvValue(original, 'moe_lens.pruned_from_sha256') !== undefined)
    throw new EngineError('bad-prune', `${path.basename(prunedPath)} was not pruned from ${path.basename(originalPath)}'s MoE layers directly`);
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of createReadStream(originalPath, { highWaterMark: 1 << 24, signal: callbacks.signal }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    callbacks.onProgress?.((read += chunk.length), original.fileSize);
  }
  if (hash.digest('hex') !== sha) throw new EngineError('bad-prune', `${path.basename(originalPath)} is not the file ${path.basename(prunedPath)} was pruned from (${String(kvValue(pruned, 'moe_lens.pruned_from'))}): its sha256 differs`);
  const removal = Object.fromEntries(
    shape.moeLayers.map((layer) => {
      const kept = new Set(originalExpertIds[layer]);
      return [String(layer), Array.from({ length: shape.experts }, (_, e) => e).filter((e) => !kept.has(e))];
    }),
  );
  return planPrune(shape, removal);
}
