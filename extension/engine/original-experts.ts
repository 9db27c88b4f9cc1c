// A pruned model's experts by their original ids. `moe-lens prune` (prune.ts) writes, per MoE layer N,
// `moe_lens.original_experts.N`: the original id of each kept expert, and `moe_lens.original_expert_count`. The
// engine's routing stays in slot ids (the experts of the file as it is: interventions address slots); the lens names
// slot s of layer l by its original id. No vscode or node import (the webview uses it).
import type { ModelRouting } from './types';

/** What model-file.ts adds to a pruned model's ModelRouting (it travels with the model info to the webview). */
export interface PrunedIds {
  /** Per model layer id, the original id of each expert slot. */
  originalExpertIds?: Record<number, number[]>;
  /** Experts per layer before pruning (with originalExpertIds). */
  originalExperts?: number;
}
export type PrunedRouting = ModelRouting & PrunedIds;

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
export function originalId(routing: PrunedRouting | undefined, layer: number, slot: number): number {
  return routing?.originalExpertIds?.[layer]?.[slot] ?? slot;
}

/** An expert's name in labels: "expert 5 (slot 3)" for a pruned model, else "expert 3". */
export function expertLabel(routing: PrunedRouting | undefined, layer: number, slot: number): string {
  const id = originalId(routing, layer, slot);
  return routing?.originalExpertIds ? `expert ${id} (slot ${slot})` : `expert ${slot}`;
}

/**
 * Column names of a layer × expert grid over the given model layers: the original ids when every layer kept the same
 * experts, else the slot numbers (`byId` false: the cells' labels give each layer's original ids).
 */
export function expertColumns(routing: PrunedRouting | undefined, layers: readonly number[], experts: number): { names: string[]; byId: boolean } {
  const slots = Array.from({ length: experts }, (_, e) => e);
  const rows = layers.map((l) => slots.map((e) => originalId(routing, l, e)));
  const same = rows.length > 0 && rows.every((r) => r.join() === rows[0].join());
  if (!routing?.originalExpertIds || !same) return { names: slots.map(String), byId: !routing?.originalExpertIds };
  return { names: rows[0].map(String), byId: true };
}

/** The line a lens shows for a pruned model; undefined for any other. */
export function prunedNote(routing: PrunedRouting | undefined): string | undefined {
  if (!routing?.originalExpertIds || routing.originalExperts === undefined) return undefined;
  return `Pruned from ${routing.originalExperts} experts per layer to ${routing.experts}: experts are named by their original ids; regenerate-without and force address the slots of this file (0–${routing.experts - 1}).`;
}
