// A pruned model's experts by their original ids. `moe-lens prune` (prune.ts) writes, per MoE layer N,
// `moe_lens.original_experts.N`: the original id of each kept expert, and `moe_lens.original_expert_count`. The
// engine's routing stays in slot ids (the experts of the file as it is: interventions address slots); the lens names
// slot s of layer l by its original id. No vscode or node import (the webview uses it).
import type { ModelRouting } from './types';

/** The fields model-file.ts adds to a pruned model's ModelRouting (they travel with the model info to the webview). */
export type PrunedIds = Pick<ModelRouting, 'originalExpertIds' | 'originalExperts'>;

/** The provenance of a pruned model from its GGUF metadata (node-llama-cpp's nested object); {} for any other model. */
export function originalExpertsOf(metadata: unknown, moeLayers: readonly number[], experts: number): PrunedIds {
  const meta = (metadata as { moe_lens?: { original_expert_count?: unknown; original_experts?: unknown } } | undefined)?.moe_lens;
  return validOriginalIds(meta?.original_experts, moeLayers, experts, meta?.original_expert_count);
}

/**
 * Untrusted provenance (a GGUF header's, a server's `/v1/models` meta) checked against the model it describes: `rows`
 * has one row for each MoE layer (by model layer id) and no other, one id per slot, each an expert of the `count` the
 * model had before pruning (more than it has now). Anything else is {} (no original ids).
 */
export function validOriginalIds(rows: unknown, moeLayers: readonly number[], experts: number, count: unknown): PrunedIds {
  if (!rows || typeof rows !== 'object' || !Array.isArray(moeLayers) || !Number.isInteger(experts) || experts <= 0) return {};
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= experts) return {};
  const byLayer = rows as Record<string, unknown>;
  if (Object.keys(byLayer).length !== moeLayers.length) return {};
  const ids: Record<number, number[]> = {};
  for (const layer of moeLayers) {
    const row = Number.isInteger(layer) ? byLayer[String(layer)] : undefined;
    if (!Array.isArray(row) || row.length !== experts || !row.every((id) => Number.isInteger(id) && id >= 0 && id < count)) return {};
    ids[layer] = row.map(Number);
  }
  return { originalExpertIds: ids, originalExperts: count };
}

/** The original id of expert slot `slot` in model layer `layer` (the slot itself unless the model was pruned). */
export function originalId(routing: PrunedIds | undefined, layer: number, slot: number): number {
  return routing?.originalExpertIds?.[layer]?.[slot] ?? slot;
}

/** An expert's name in labels: "expert 5 (slot 3)" for a pruned model, else "expert 3". */
export function expertLabel(routing: PrunedIds | undefined, layer: number, slot: number): string {
  const id = originalId(routing, layer, slot);
  return routing?.originalExpertIds ? `expert ${id} (slot ${slot})` : `expert ${slot}`;
}

/**
 * Column names of a layer × expert grid over the given model layers: the original ids when every layer kept the same
 * experts, else the slot numbers (`byId` false: the cells' labels give each layer's original ids).
 */
export function expertColumns(routing: PrunedIds | undefined, layers: readonly number[], experts: number): { names: string[]; byId: boolean } {
  const slots = Array.from({ length: experts }, (_, e) => e);
  const rows = layers.map((l) => slots.map((e) => originalId(routing, l, e)));
  const same = rows.length > 0 && rows.every((r) => r.join() === rows[0].join());
  if (!routing?.originalExpertIds || !same) return { names: slots.map(String), byId: !routing?.originalExpertIds };
  return { names: rows[0].map(String), byId: true };
}

/** Experts per layer before pruning; undefined unless the model was pruned. */
export function prunedFrom(routing: ModelRouting | undefined): number | undefined {
  return routing?.originalExpertIds ? routing.originalExperts : undefined;
}

/** The line a lens shows for a pruned model; undefined for any other. */
export function prunedNote(routing: ModelRouting | undefined): string | undefined {
  const before = prunedFrom(routing);
  if (before === undefined || !routing) return undefined;
  return `Pruned from ${before} experts per layer to ${routing.experts}: experts are named by their original ids; regenerate-without and force address the slots of this file (0–${routing.experts - 1}).`;
}
