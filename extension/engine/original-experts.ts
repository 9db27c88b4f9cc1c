// A pruned model's experts by their original ids. `moe-lens prune` (prune.ts) writes, per MoE layer N,
// `moe_lens.original_experts.N`: the original id of each kept expert, and `moe_lens.original_expert_count`. The
// engine's routing stays in slot ids (the experts of the file as it is: interventions address slots); the lens names
// slot s of layer l by its original id. No vscode or node import (the webview uses it).
import type { ModelRouting } from './types';

/** The fields model-file.ts adds to a pruned model's ModelRouting (they travel with the model info to the webview). */
export type PrunedIds = Pick<ModelRouting, 'originalExpertIds' | 'originalExperts'>;

/** The provenance of a pruned model from its GGUF metadata (node-llama-cpp's nested object); {} for any other model. */
export function originalExpertsOf(metadata: unknown, moeLayers: readonly number[], experts: number): PrunedIds {
  const meta = (metadata as { moe_lens?: { original_expert_count?: unknown; original_experts?: Record<string, unknown> } } | undefined)?.moe_lens;
  const count = Number(meta?.original_expert_count);
  if (!meta?.original_experts || !Number.isInteger(count) || count <= experts) return {};
  const ids: Record<number, number[]> = {};
  for (const layer of moeLayers) {
    const row = meta.original_experts[String(layer)];
    // Only a well-formed row: one id per slot, each an expert of the original model.
    if (!Array.isArray(row) || row.length !== experts || !row.every((id) => Number.isInteger(id) && id >= 0 && id < count)) return {};
    ids[layer] = row.map(Number);
  }
  return { originalExpertIds: ids, originalExperts: count };
}

/** The original id of expert slot `slot` in model layer `layer` (the slot itself unless the model was pruned). */
export function originalId(routing: ModelRouting | undefined, layer: number, slot: number): number {
  return routing?.originalExpertIds?.[layer]?.[slot] ?? slot;
}

/** An expert's name in labels: "expert 5 (slot 3)" for a pruned model, else "expert 3". */
export function expertLabel(routing: ModelRouting | undefined, layer: number, slot: number): string {
  const id = originalId(routing, layer, slot);
  return routing?.originalExpertIds ? `expert ${id} (slot ${slot})` : `expert ${slot}`;
}

/**
 * Column names of a layer × expert grid over the given model layers: the original ids when every layer kept the same
 * experts, else the slot numbers (`byId` false: the cells' labels give each layer's original ids).
 */
export function expertColumns(routing: ModelRouting | undefined, layers: readonly number[], experts: number): { names: string[]; byId: boolean } {
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
