// Expert interventions: the one parser and validator of the SPEC syntax, used by the CLI, the extension, the
// evals and the engine itself (which validates every request against the loaded model).
//
// SPEC: `LAYER:EXPERT[,EXPERT…]` joined with `;`; LAYER is a block number of the model or `*` (every MoE layer).
// Invariants of a resolved intervention (what the native callback relies on):
//   - every layer is a MoE layer of the model and every expert is in 0..experts-1;
//   - ablation leaves at least top-k experts in each layer (so no masked expert is ever read as a gate weight);
//   - force names 1..top-k experts, none of them also ablated in that layer, in no more expert groups than the
//     router searches (the native side then makes the forced experts' groups the ones searched);
//   - `key` is canonical (sorted layers and experts): two interventions with the same effect have the same key,
//     and the KV prefix cache and eval fingerprints are keyed on it.
// No `vscode` import; pure.
import { EngineError } from './errors';
import type { Intervention, ModelInfo } from './types';

export type InterventionKind = 'ablate' | 'force';

const ALL = '*';

/** Parses one SPEC (`--ablate` or `--force`) into its layer map; syntax only (no model needed). */
export function parseInterventionSpec(spec: string, kind: InterventionKind): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const bad = (why: string): never => {
    throw new EngineError('bad-intervention', `bad --${kind} SPEC ${JSON.stringify(spec)}: ${why} (expected LAYER:EXPERT[,EXPERT…] joined with ";", LAYER a number or *)`);
  };
  const entries = spec.split(';').map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length === 0) bad('it is empty');
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    if (colon < 0) bad(`"${entry}" has no ":"`);
    const layer = entry.slice(0, colon).trim();
    if (layer !== ALL && !/^\d+$/.test(layer)) bad(`layer "${layer}" is not a number or *`);
    const experts = entry.slice(colon + 1).split(',').map((e) => e.trim());
    if (experts.some((e) => !/^\d+$/.test(e))) bad(`"${entry}" lists something that is not an expert number`);
    const key = layer === ALL ? ALL : String(Number(layer));
    out[key] = [...new Set([...(out[key] ?? []), ...experts.map(Number)])];
  }
  return out;
}

/** The intervention the CLI flags describe, or undefined when neither is given. */
export function interventionFromSpecs(specs: { ablate?: string; force?: string }): Intervention | undefined {
  const ablate = specs.ablate === undefined ? undefined : parseInterventionSpec(specs.ablate, 'ablate');
  const force = specs.force === undefined ? undefined : parseInterventionSpec(specs.force, 'force');
  return ablate || force ? { ...(ablate ? { ablate } : {}), ...(force ? { force } : {}) } : undefined;
}

export interface ResolvedLayer {
  /** Model block number and its index among the MoE layers (the routing arrays' layer index). */
  layer: number;
  slot: number;
  /** Experts ablated, or forced, in this layer (sorted). */
  ablate: number[];
  force: number[];
  /** Experts whose router scores become -inf: the ablated ones, or every expert not forced. */
  masked: number[];
}

export interface ResolvedIntervention {
  key: string;
  layers: ResolvedLayer[];
}

/** What the addon takes (native/src/addon.cpp InterventionOf). */
export interface NativeIntervention {
  key: string;
  layers: { slot: number; force: boolean; masked: number[] }[];
}

type RoutingShape = Pick<ModelInfo, 'name' | 'routing'>;

function isEmpty(intervention: Intervention | undefined): boolean {
  const count = (m?: Record<string, number[]>) => Object.values(m ?? {}).reduce((n, e) => n + e.length, 0);
  return !intervention || count(intervention.ablate) + count(intervention.force) === 0;
}

/** Expands `*`, validates against the model and computes the masks; undefined for no intervention. */
export function resolveIntervention(intervention: Intervention | undefined, model: RoutingShape): ResolvedIntervention | undefined {
  if (isEmpty(intervention)) return undefined;
  if (!model.routing) throw new EngineError('not-moe', `${model.name} is a dense model (no experts): there is nothing to ablate or force`);
  const { moeLayers, experts: expertCount, expertsPerToken: k } = model.routing;
  const bad = (message: string): never => {
    throw new EngineError('bad-intervention', message);
  };
  const moe = new Map(moeLayers.map((layer, slot) => [layer, slot]));
  const range = moeLayers.length ? `${moeLayers[0]}–${moeLayers[moeLayers.length - 1]}` : 'none';
  const expand = (map: Record<string, number[]> | undefined, kind: InterventionKind): Map<number, Set<number>> => {
    const out = new Map<number, Set<number>>();
    for (const [key, experts] of Object.entries(map ?? {})) {
      if (!Array.isArray(experts) || experts.some((e) => !Number.isInteger(e)))
        bad(`--${kind}: layer ${key} needs a list of expert numbers`);
      for (const e of experts)
        if (e < 0 || e >= expertCount) bad(`--${kind}: expert ${e} is out of range: ${model.name} has ${expertCount} experts per layer (0–${expertCount - 1})`);
      const layers = key === ALL ? moeLayers : [/^\d+$/.test(key) ? Number(key) : NaN];
      for (const layer of layers) {
        if (!moe.has(layer)) bad(`--${kind}: layer ${key} is not a MoE layer of ${model.name} (MoE layers: ${range})`);
        const set = out.get(layer) ?? new Set<number>();
        for (const e of experts) set.add(e);
        out.set(layer, set);
      }
    }
    return out;
  };
  const ablate = expand(intervention!.ablate, 'ablate');
  const force = expand(intervention!.force, 'force');
  const layers: ResolvedLayer[] = [];
  for (const layer of [...new Set([...ablate.keys(), ...force.keys()])].sort((a, b) => a - b)) {
    const off = [...(ablate.get(layer) ?? [])].sort((a, b) => a - b);
    const on = [...(force.get(layer) ?? [])].sort((a, b) => a - b);
    let masked: number[];
    if (on.length) {
      if (on.length > k) bad(`--force: ${on.length} experts forced in layer ${layer}, but ${model.name} uses ${k} per token`);
      const groups = model.routing.expertGroups;
      const forcedGroups = groups ? [...new Set(on.map((e) => Math.floor(e / (expertCount / groups.count))))] : [];
      if (groups && forcedGroups.length > groups.searched)
        bad(`--force: layer ${layer}'s experts ${on.join(',')} lie in expert groups ${forcedGroups.join(', ')}, but ${model.name}'s router searches only ${groups.searched} of its ${groups.count} groups of ${expertCount / groups.count}`);
      const both = on.filter((e) => off.includes(e));
      if (both.length) bad(`expert ${both[0]} is both forced and ablated in layer ${layer}`);
      masked = [...Array(expertCount).keys()].filter((e) => !on.includes(e));
    } else {
      if (expertCount - off.length < k)
        bad(
          `--ablate: ${off.length === expertCount ? 'every expert' : `${off.length} of ${expertCount} experts`} ablated in layer ${layer}; ` +
            `the router needs at least the ${k} it picks per token`,
        );
      masked = off;
    }
    if (masked.length) layers.push({ layer, slot: moe.get(layer)!, ablate: off, force: on, masked });
  }
  if (!layers.length) return undefined;
  return { key: formatResolved(layers), layers };
}

/** Canonical text of a resolved intervention, in SPEC syntax: `ablate 0:3;5:1,2 force 1:4`. */
function formatResolved(layers: ResolvedLayer[]): string {
  const spec = (pick: (l: ResolvedLayer) => number[]) =>
    layers
      .filter((l) => pick(l).length)
      .map((l) => `${l.layer}:${pick(l).join(',')}`)
      .join(';');
  const ablate = spec((l) => l.ablate);
  const force = spec((l) => l.force);
  return [ablate && `ablate ${ablate}`, force && `force ${force}`].filter(Boolean).join(' ');
}

/** Text of an unresolved intervention in SPEC syntax (for names, fingerprints and logs); '' for none. */
export function formatIntervention(intervention: Intervention | undefined): string {
  if (isEmpty(intervention)) return '';
  const spec = (map?: Record<string, number[]>) =>
    Object.entries(map ?? {})
      .filter(([, experts]) => experts.length)
      .sort(([a], [b]) => (a === ALL ? -1 : b === ALL ? 1 : Number(a) - Number(b)))
      .map(([layer, experts]) => `${layer}:${[...experts].sort((a, b) => a - b).join(',')}`)
      .join(';');
  const ablate = spec(intervention!.ablate);
  const force = spec(intervention!.force);
  return [ablate && `ablate ${ablate}`, force && `force ${force}`].filter(Boolean).join(' ');
}

export function toNative(resolved: ResolvedIntervention | undefined): NativeIntervention | undefined {
  return resolved && { key: resolved.key, layers: resolved.layers.map((l) => ({ slot: l.slot, force: l.force.length > 0, masked: l.masked })) };
}

/** Validates a top-k override against the model's expert count; dense models are refused. */
export function checkExpertsPerToken(k: number, model: { name: string; experts: number }): void {
  if (model.experts === 0) throw new EngineError('not-moe', `${model.name} is a dense model (no experts): experts per token does not apply`);
  if (!Number.isInteger(k) || k < 1 || k > model.experts)
    throw new EngineError('bad-intervention', `experts per token must be a whole number from 1 to ${model.experts} (the experts per layer of ${model.name}), not ${k}`);
}
