// The one grammar of the model settings, for the CLI's flags and the VS Code settings alike: each parser accepts the
// same text and says what is wrong in the same words (the CLI refuses with it; the settings fall back to the default),
// and the load options are built here from the parsed values. No vscode import.
import type { CpuMoe, LocalLoadOptions, RemoteLoadOptions } from './types';

export type GpuLayers = NonNullable<LocalLoadOptions['gpuLayers']>;
export type RoutingShape = { moeLayers: number; expertsPerToken: number };

/** A parsed value, or why the text is not one (a sentence fragment: "expected …"). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const wrong = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** A whole number ≥ 0, from a number or its digits. */
function count(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number.parseInt(value.trim(), 10);
  return undefined;
}

function word<W extends string>(value: unknown, words: readonly W[]): W | undefined {
  const v = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  return words.find((w) => w === v);
}

/** Layers on the GPU: `auto` | `max` | a number of layers. */
export function parseGpuLayers(value: unknown): Parsed<GpuLayers> {
  const v = word(value, ['auto', 'max'] as const) ?? count(value);
  return v !== undefined ? ok(v) : wrong('expected auto, max or a number of layers');
}

/** Expert weights in system RAM: `auto` | `all` | `none` | the first N layers'. */
export function parseCpuMoe(value: unknown): Parsed<CpuMoe> {
  const v = word(value, ['auto', 'all', 'none'] as const) ?? count(value);
  return v !== undefined ? ok(v) : wrong('expected all, none, auto or a number of layers');
}

/** MoE layers × experts per token, for servers whose routing payload does not carry its shape: `58x8` (or `58,8`). */
export function parseRoutingShape(value: unknown): Parsed<RoutingShape> {
  const m = typeof value === 'string' ? /^\s*(\d+)\s*[x×,]\s*(\d+)\s*$/i.exec(value) : null;
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) return wrong('expected LAYERSxK, e.g. 58x8');
  return ok({ moeLayers: Number(m[1]), expertsPerToken: Number(m[2]) });
}

/** The value, or `fallback` when the text is not one. */
export function orDefault<T>(parsed: Parsed<T>, fallback: T): T {
  return parsed.ok ? parsed.value : fallback;
}

/** A local model's settings; a missing or 0 size, thread count or top-k means the model's or llama.cpp's own. */
export interface LocalSettings {
  gpuLayers?: GpuLayers;
  cpuMoe?: CpuMoe;
  contextSize?: number;
  threads?: number;
  expertsPerToken?: number;
}

export function localLoadOptions(modelPath: string, s: LocalSettings): LocalLoadOptions {
  return {
    modelPath,
    ...(s.gpuLayers !== undefined ? { gpuLayers: s.gpuLayers } : {}),
    ...(s.cpuMoe !== undefined ? { cpuMoe: s.cpuMoe } : {}),
    ...(s.contextSize ? { contextSize: s.contextSize } : {}),
    ...(s.threads ? { threads: s.threads } : {}),
    ...(s.expertsPerToken ? { expertsPerToken: s.expertsPerToken } : {}),
  };
}

/** A server's settings; `apiKey` comes from SecretStorage (VS Code) or an environment variable (CLI). */
export interface ServerSettings {
  endpoint: string;
  /** '' or missing = the server's first model. */
  model?: string;
  apiKey?: string;
  contextSize?: number;
  routingShape?: RoutingShape;
  /** false: no streaming (vLLM then reports routed experts). */
  stream?: boolean;
}

export function serverLoadOptions(s: ServerSettings): RemoteLoadOptions {
  return {
    backend: 'remote',
    endpoint: s.endpoint,
    ...(s.model ? { model: s.model } : {}),
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    ...(s.contextSize ? { contextSize: s.contextSize } : {}),
    ...(s.routingShape ? { routingShape: s.routingShape } : {}),
    ...(s.stream === false ? { stream: false } : {}),
  };
}
