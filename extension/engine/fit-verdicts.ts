// Fit verdicts on GPUs this machine may not have: for a model's header (a local file, or read over the network by
// remote-layout.ts) and each share of experts dropped per layer (pruneBudgets' rounding), where the weights would go
// on a GPU of each size — all in VRAM, the experts of the first N of M layers in RAM, or too big — and the pruned
// file's size. The engine's own placement planner decides (placementOf: planPlacement on the header, expert bytes
// scaled by the experts kept), with the context's KV cache and compute buffers counted against the GPU as the engine
// counts them when it loads (node-llama-cpp's GgufInsights estimate for every layer offloaded). No vscode import.
import type { GgufFileInfo } from 'node-llama-cpp';
import { isRemoteModel } from './model-file';
import { kvNumber, moeShape, prunedSize, readGgufLayout, type GgufLayout, type MoeShape } from './prune';
import { pruneBudgets } from './prune-budget';
import { chooseRemoval, placementOf } from './prune-plan';
import { fitOfPlacement, importNodeLlamaCppFile, type Fit } from './recommended';
import { readRemoteLayout } from './remote-layout';

export const GiB = 2 ** 30;

export interface ModelHeader {
  /** As the user named it (path, URL or `hf:` URI). */
  model: string;
  layout: GgufLayout;
  info: GgufFileInfo;
  /** Bytes fetched over the network for a remote model. */
  bytesFetched?: number;
}

/** A model's header (all parts of a split one), from disk or over the network (only the header). EngineErrors with one line. */
export async function readModelHeader(model: string, signal?: AbortSignal): Promise<ModelHeader> {
  if (isRemoteModel(model)) {
    const remote = await readRemoteLayout(model, { signal });
    return { model, layout: remote.layout, info: remote.info, bytesFetched: remote.bytesFetched };
  }
  // Every part of a split file (`-00001-of-00003.gguf`), each validated before node-llama-cpp's reader reads it.
  const { resolveSplitGgufParts } = await importNodeLlamaCppFile<{ resolveSplitGgufParts(file: string): string[] }>('gguf/utils/resolveSplitGgufParts.js');
  const parts = await Promise.all(resolveSplitGgufParts(model).map(readGgufLayout));
  const layout = { ...parts[0], tensors: parts.flatMap((p) => p.tensors), fileSize: parts.reduce((n, p) => n + p.fileSize, 0) };
  const { readGgufFileInfo } = await import('node-llama-cpp');
  return { model, layout, info: await readGgufFileInfo(model, { logWarnings: false }) };
}

export interface FitRow {
  /** The share of each layer's experts asked to go (0: the model as it is) and what that rounds to. */
  share: number;
  drop: number;
  experts: number;
  /** The file's size: the model's, or the pruned file's (exact, as `moe-lens prune` would write it). */
  bytes: number;
  /** Per GPU size, in the order asked. */
  fits: Fit[];
}

export interface ModelFits {
  shape: MoeShape;
  layers: number;
  context: number;
  /** KV cache and compute buffers of the context on the GPU. */
  contextBytes: number;
  gpuBytes: number[];
  rows: FitRow[];
  /** Shares that no pruning can give (too few experts left for top-k, or the same count as an earlier share). */
  unavailable: number[];
}

/** The verdicts of one model for GPUs of `gpuBytes` (the whole memory free) and the shares of experts dropped. */
export async function fitVerdicts(header: ModelHeader, options: { gpuBytes: number[]; shares: number[]; context: number }): Promise<ModelFits> {
  const { layout } = header;
  const shape = moeShape(layout);
  const layers = kvNumber(layout, `${shape.architecture}.block_count`) ?? 0;
  const gpuLayers = layers + 1;
  const { GgufInsights } = await import('node-llama-cpp');
  const insights = await GgufInsights.from(header.info);
  const contextBytes = insights.estimateContextResourceRequirements({ contextSize: options.context, modelGpuLayers: gpuLayers }).gpuVram;
  const budgets = [
    ...(options.shares.includes(0) ? [{ share: 0, drop: 0 }] : []),
    ...pruneBudgets(shape, options.shares.filter((s) => s > 0)),
  ];
  const rows = budgets.map(({ share, drop }): FitRow => {
    // Which experts go changes neither the size nor the placement: the first of each group stand for any.
    const plan = drop ? chooseRemoval(shape, shape.moeLayers.map(() => Array<number>(shape.experts).fill(0)), drop) : undefined;
    return {
      share,
      drop,
      experts: shape.experts - drop,
      bytes: plan ? prunedSize(layout, plan) : layout.fileSize,
      fits: options.gpuBytes.map((freeVram) =>
        fitOfPlacement(placementOf(layout, shape, { backend: 'cuda', gpuLayers, cpuMoe: 'auto', freeVram, contextVram: contextBytes }, plan), layers, Infinity),
      ),
    };
  });
  const unavailable = options.shares.filter((s) => !budgets.some((b) => b.share === s));
  return { shape, layers, context: options.context, contextBytes, gpuBytes: options.gpuBytes, rows, unavailable };
}
