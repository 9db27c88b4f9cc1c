// The MoE models of node-llama-cpp's own recommended list (the one its `chat` command offers), and whether a
// model fits this machine, judged from its GGUF header alone (read over the network for `hf:` URIs) and the
// engine's placement plan. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatBytes } from '../format';
import type { GgufModelInfo, PlacementReport } from './types';

export interface Recommendation {
  name: string;
  description: string;
  /** `hf:` URIs, best quality first (node-llama-cpp's order). */
  fileOptions: string[];
}

/** node-llama-cpp describes its MoE entries as models that "utilize a Mixture of Experts architecture". */
export function isMoeRecommendation(r: Recommendation): boolean {
  return /utiliz\w* a Mixture of Experts architecture/i.test(r.description);
}

/**
 * A file of node-llama-cpp's dist folder that its package exports do not expose (the CLI's recommended list, its
 * model URI resolver), imported by path.
 */
export async function importNodeLlamaCppFile<T>(relative: string): Promise<T> {
  let dir = path.dirname(require.resolve('node-llama-cpp'));
  while (!fs.existsSync(path.join(dir, 'cli', 'recommendedModels.js'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`node-llama-cpp's ${relative} was not found`);
    dir = parent;
  }
  return (await import(pathToFileURL(path.join(dir, relative)).href)) as T;
}

/** node-llama-cpp's descriptions as it ships them have typos; what we show is corrected here. */
const CORRECTIONS: [RegExp, string][] = [
  [/\bchain of though\b/g, 'chain of thought'],
  [/\bare using chain of thought\b/g, 'use chain of thought'],
  [/\bis using chain of thought\b/g, 'uses chain of thought'],
  [/\bto the improve\b/g, 'to improve'],
  [/\bMixtures of Experts \(MoE\) is\b/g, 'Mixture of Experts (MoE) is'],
  [/\bMixtures of Experts \(MoE\) version\b/g, 'Mixture of Experts (MoE) version'],
  [/\bMistal AI\b/g, 'Mistral AI'],
  [/\bresponses quality\b/g, 'response quality'],
  [/\bfor an assistant-like chat use cases\b/g, 'for assistant-like chat use cases'],
  [/\b(\d+) billion parameters version\b/g, '$1-billion-parameter version'],
];

export function correctDescription(text: string): string {
  return CORRECTIONS.reduce((t, [typo, fix]) => t.replace(typo, fix), text);
}

/** node-llama-cpp's recommended MoE models, names trimmed and descriptions corrected. */
export async function moeRecommendations(): Promise<Recommendation[]> {
  const { recommendedModels } = await importNodeLlamaCppFile<{ recommendedModels: Recommendation[] }>('cli/recommendedModels.js');
  return recommendedModels.filter(isMoeRecommendation).map((r) => ({ ...r, name: r.name.trim(), description: correctDescription(r.description) }));
}

export type Fit =
  | { kind: 'vram'; bytes: number }
  | { kind: 'experts-in-ram'; layers: number; of: number; bytes: number }
  | { kind: 'ram'; bytes: number }
  | { kind: 'too-big'; bytes: number; ramBytes: number };

/**
 * From an `inspect` of the model (its `auto` placement plan against the free VRAM): everything on the GPU, the
 * experts of the first N layers in RAM, everything in RAM (a CPU-only machine, or more than the GPU can take even
 * without experts), or more than RAM holds.
 */
export function fitOnMachine(info: GgufModelInfo, ramBytes: number): Fit {
  return fitOfPlacement(info.placement, info.layers, ramBytes);
}

/** The same verdict from a placement plan of a model with `layers` layers (also a plan for a GPU this machine lacks). */
export function fitOfPlacement(p: PlacementReport, layers: number, ramBytes: number): Fit {
  const bytes = p.weights.reduce((n, w) => n + w.bytes, 0);
  const gpuBytes = p.weights.filter((w) => w.device !== 'CPU').reduce((n, w) => n + w.bytes, 0);
  const gpuFits = p.backend !== 'cpu' && gpuBytes > 0 && (p.gpuBudgetBytes === undefined || gpuBytes <= p.gpuBudgetBytes);
  const inRam = gpuFits ? bytes - gpuBytes : bytes;
  if (inRam > ramBytes * 0.9) return { kind: 'too-big', bytes, ramBytes };
  if (!gpuFits) return { kind: 'ram', bytes };
  if (p.cpuMoeLayers === 0) return { kind: 'vram', bytes };
  return { kind: 'experts-in-ram', layers: p.cpuMoeLayers, of: layers, bytes };
}

export function describeFit(fit: Fit): string {
  switch (fit.kind) {
    case 'vram':
      return 'fits in VRAM';
    case 'experts-in-ram':
      return `needs the experts of ${fit.layers} of ${fit.of} layers in RAM`;
    case 'ram':
      return 'runs from system RAM';
    case 'too-big':
      return `does not fit (${formatBytes(fit.ramBytes)} RAM)`;
  }
}
