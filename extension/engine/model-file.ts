// Reads a GGUF file's facts before any weights are loaded: validation with clear errors, the MoE
// configuration, parameter counts and the placement plan (which layers' experts live in system RAM).
import { formatBytes } from '../format';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { GgufFileInfo, GgufTensorInfo } from 'node-llama-cpp';
import { TEXT_CONTINUATION_TAG } from './demo-model';
import { LLAMA_CPP_ARCHITECTURES } from './architectures';
import { EngineError } from './errors';
import { GGML_TYPE_SIZE, validateGgufHeader } from './gguf-header';
import { originalExpertsOf } from './original-experts';
import { readRemoteLayout } from './remote-layout';
import type { CpuMoe, EngineCapabilities, GgufModelInfo, PlacementReport, RpcDeviceReport } from './types';

type NodeLlamaCpp = typeof import('node-llama-cpp');

const EXPERT_TENSOR = /\.ffn_(up|down|gate|gate_up)_(ch|)exps\./;
/** A routed expert's weights (or their bias / scale): what MoE offload moves and what is counted as expert bytes. */
export const isExpertTensor = (name: string) => EXPERT_TENSOR.test(name + '.');
const SHARED_EXPERT_TENSOR = /_shexp\./;
const ROUTER_TENSOR = /^blk\.(\d+)\.ffn_gate_inp\.weight$/;
/** llama.cpp's input layer (LLM_TENSOR_LAYER_INPUT): always in system RAM. */
const INPUT_TENSOR = /^(token_embd|token_types|position_embd|per_layer_token_embd)\.weight$/;

export interface TensorFacts {
  name: string;
  layer: number | undefined;
  elements: number;
  bytes: number;
  isExpert: boolean;
}

export interface ModelFile {
  path: string;
  fileBytes: number;
  info: GgufFileInfo;
  architecture: string;
  tensors: TensorFacts[];
}

function tensorFacts(tensor: GgufTensorInfo): TensorFacts {
  const elements = tensor.dimensions.reduce<number>((n, d) => n * Number(d), 1);
  const [blockBytes, blockElements] = GGML_TYPE_SIZE[tensor.ggmlType] ?? [4, 1];
  const layer = /^blk\.(\d+)\./.exec(tensor.name)?.[1];
  return {
    name: tensor.name,
    layer: layer === undefined ? undefined : Number(layer),
    elements,
    bytes: Math.ceil(elements / blockElements) * blockBytes,
    isExpert: isExpertTensor(tensor.name),
  };
}

/** `hf:` model URIs and http(s) URLs: their header is read over the network (only the header, not the weights). */
export function isRemoteModel(modelPath: string): boolean {
  return /^(hf:|https?:\/\/)/i.test(modelPath);
}

/**
 * The header of a model on a hub, read over the network (all parts of a split file; remote-layout.ts: a range probe
 * first, so a server that ignores Range is refused rather than streaming the whole model); its size is its parts'.
 */
async function readRemoteModelFile(uri: string): Promise<ModelFile> {
  const { info, layout } = await readRemoteLayout(uri);
  const tensors = (info.fullTensorInfo ?? info.tensorInfo ?? []).map(tensorFacts);
  const architecture = String(info.metadata?.general?.architecture ?? '');
  if (!architecture) throw new EngineError('not-gguf', `${uri} has no general.architecture: not a model GGUF`);
  checkArchitecture(architecture, uri);
  return { path: uri, fileBytes: layout.fileSize, info, architecture, tensors };
}

/** Validates the file (or a hub URI's header) and reads its GGUF header. Every failure is an EngineError with one clear line. */
export async function readModelFile(modelPath: string, nlc: NodeLlamaCpp): Promise<ModelFile> {
  if (isRemoteModel(modelPath)) return readRemoteModelFile(modelPath);
  const file = path.resolve(modelPath);
  const name = path.basename(file);
  const stats = await stat(file).catch(() => undefined);
  if (!stats) throw new EngineError('file-not-found', `model file not found: ${file}`);
  if (!stats.isFile()) throw new EngineError('not-a-file', `not a file: ${file}`);
  if (stats.size === 0) throw new EngineError('empty-file', `the model file is empty: ${file}`);

  // Bounded checks first (the magic included): node-llama-cpp's reader and llama.cpp trust the counts and lengths
  // they read. The tensor data's extent is checked below, against the tensors node-llama-cpp read.
  const header = validateGgufHeader(file, name, stats.size);
  if (!header.architecture) throw new EngineError('not-gguf', `${name} has no general.architecture: not a model GGUF`);
  checkArchitecture(header.architecture, name);

  let info: GgufFileInfo;
  try {
    info = await nlc.readGgufFileInfo(file, { readTensorInfo: true, logWarnings: false, spliceSplitFiles: false });
  } catch (error) {
    throw new EngineError('truncated-gguf', `${name} is a damaged or truncated GGUF file (${(error as Error).message})`);
  }
  const tensorInfo = info.fullTensorInfo ?? info.tensorInfo ?? [];
  const tensors = tensorInfo.map(tensorFacts);
  const dataEnd = tensorInfo.reduce((end, t, i) => Math.max(end, Number(t.fileOffset) + tensors[i].bytes), 0);
  if (dataEnd > stats.size)
    throw new EngineError('truncated-gguf', `${name} is truncated: its tensors need ${dataEnd} bytes but the file has ${stats.size}`);
  return { path: file, fileBytes: stats.size, info, architecture: header.architecture, tensors };
}

/** Refuses an architecture the bundled llama.cpp cannot load, before anything tries to. */
function checkArchitecture(architecture: string, name: string): void {
  if (!LLAMA_CPP_ARCHITECTURES.has(architecture))
    throw new EngineError('unsupported-architecture', `${name}: llama.cpp does not support the architecture ${JSON.stringify(architecture.slice(0, 64))}`);
}

function metaNumber(file: ModelFile, key: string): number | undefined {
  const archMeta = (file.info.metadata as unknown as Record<string, Record<string, unknown>>)[file.architecture];
  let value: unknown = archMeta;
  for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;
}

export interface ModelFacts {
  layers: number;
  moeLayers: number[];
  experts: number;
  expertsPerToken: number;
  sharedExperts: number;
  totalParams: number;
  activeParams: number;
  embeddingLength: number;
  vocabSize: number;
  trainContextLength: number;
  /** Expert weight bytes per layer index. */
  expertBytesByLayer: Map<number, number>;
  weightBytes: number;
  /**
   * Bytes llama.cpp keeps on the CPU whatever is offloaded (its input layer: the token embedding and its kin), and
   * of those the bytes it also copies to the output layer's device when the output shares the token embedding.
   */
  inputBytes?: number;
  tiedOutputBytes?: number;
  /** The file's own top-k, when an override changed expertsPerToken. */
  modelExpertsPerToken?: number;
  /** Expert groups of a DeepSeek-style router (more than one). */
  expertGroups?: { count: number; searched: number };
  /**
   * Weight bytes one decoded token reads: every tensor, the experts at k / n_expert, the token embedding at one
   * row (unless it doubles as the lm_head). Times tok/s, the memory bandwidth decode uses.
   */
  decodeBytesPerToken: number;
}

/** The model's facts; with `expertsPerTokenOverride` (validated by the caller) top-k and active parameters as loaded with it. */
export function modelFacts(file: ModelFile, expertsPerTokenOverride?: number): ModelFacts {
  const layers = metaNumber(file, 'block_count') ?? 0;
  const experts = metaNumber(file, 'expert_count') ?? 0;
  const modelExpertsPerToken = metaNumber(file, 'expert_used_count') ?? 0;
  const expertsPerToken = expertsPerTokenOverride ?? modelExpertsPerToken;
  const groupCount = metaNumber(file, 'expert_group_count') ?? 1;
  const moeLayers = [...new Set(file.tensors.flatMap((t) => ROUTER_TENSOR.exec(t.name)?.[1] ?? []).map(Number))].sort((a, b) => a - b);
  const expertBytesByLayer = new Map<number, number>();
  let totalParams = 0;
  let activeParams = 0;
  for (const t of file.tensors) {
    totalParams += t.elements;
    activeParams += t.isExpert && experts > 0 ? (t.elements * expertsPerToken) / experts : t.elements;
    if (t.isExpert && t.layer !== undefined) expertBytesByLayer.set(t.layer, (expertBytesByLayer.get(t.layer) ?? 0) + t.bytes);
  }
  const tokens = (file.info.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } }).tokenizer?.ggml?.tokens;
  const vocabSize = metaNumber(file, 'vocab_size') ?? tokens?.length ?? 0;
  const tiedOutput = !file.tensors.some((t) => t.name === 'output.weight');
  let decodeBytesPerToken = 0;
  for (const t of file.tensors) {
    if (t.isExpert && experts > 0) decodeBytesPerToken += (t.bytes * expertsPerToken) / experts;
    else if (t.name === 'token_embd.weight' && vocabSize > 0) decodeBytesPerToken += tiedOutput ? t.bytes + t.bytes / vocabSize : t.bytes / vocabSize;
    else decodeBytesPerToken += t.bytes;
  }
  return {
    layers,
    moeLayers: experts > 0 ? moeLayers : [],
    experts,
    expertsPerToken,
    ...(expertsPerToken !== modelExpertsPerToken ? { modelExpertsPerToken } : {}),
    ...(groupCount > 1 ? { expertGroups: { count: groupCount, searched: metaNumber(file, 'expert_group_used_count') ?? groupCount } } : {}),
    sharedExperts: file.tensors.some((t) => SHARED_EXPERT_TENSOR.test(t.name)) ? Math.max(1, metaNumber(file, 'expert_shared_count') ?? 1) : 0,
    totalParams,
    activeParams: Math.round(activeParams),
    embeddingLength: metaNumber(file, 'embedding_length') ?? 0,
    vocabSize,
    trainContextLength: metaNumber(file, 'context_length') ?? 0,
    expertBytesByLayer,
    weightBytes: file.tensors.reduce((n, t) => n + t.bytes, 0),
    inputBytes: file.tensors.filter((t) => INPUT_TENSOR.test(t.name)).reduce((n, t) => n + t.bytes, 0),
    tiedOutputBytes: tiedOutput ? (file.tensors.find((t) => t.name === 'token_embd.weight')?.bytes ?? 0) : 0,
    decodeBytesPerToken: Math.round(decodeBytesPerToken),
  };
}

export type Backend = PlacementReport['backend'];

/**
 * The backend that really runs the model: the variant node-llama-cpp loaded is only a loader. A Vulkan loader with
 * no usable GPU (llama.cpp skips software devices such as Mesa's llvmpipe) lists no GPU device, and the model then
 * runs on the CPU; saying "vulkan" there would be a lie in `inspect` and the model panel.
 */
export function usableBackend(loaded: Exclude<Backend, 'cpu'> | false, gpuDevices: readonly string[]): { backend: Backend; note?: string } {
  if (loaded === false) return { backend: 'cpu' };
  if (gpuDevices.length === 0) return { backend: 'cpu', note: `${BACKEND_NAMES[loaded]} found no usable GPU; running on the CPU` };
  return { backend: loaded };
}

const BACKEND_NAMES: Record<Exclude<Backend, 'cpu'>, string> = { cuda: 'CUDA', vulkan: 'Vulkan', metal: 'Metal', rpc: 'RPC' };

export interface PlanInput {
  backend: Backend;
  gpuLayers: number;
  cpuMoe: CpuMoe;
  /** Free VRAM in bytes (for 'auto'), and what the context will take on the GPU. */
  freeVram?: number;
  contextVram?: number;
  /** Backend 'rpc': the servers' devices (llama.cpp splits the offloaded layers in proportion to their free memory). */
  rpcDevices?: { name: string; endpoint: string; freeBytes: number; totalBytes: number }[];
}

/** Which leading layers keep their experts in RAM, and the bytes on each side. */
export function planPlacement(facts: ModelFacts, input: PlanInput): PlacementReport {
  const notes: string[] = [];
  const totalExperts = [...facts.expertBytesByLayer.values()].reduce((a, b) => a + b, 0);
  const expertsInFirst = (n: number) =>
    [...facts.expertBytesByLayer].filter(([layer]) => layer < n).reduce((sum, [, bytes]) => sum + bytes, 0);
  const gpu = input.backend !== 'cpu' && input.gpuLayers > 0;
  // Weight bytes on the device with every layer offloaded (partial offload is not modelled) and the experts of the
  // first n layers in RAM: all but those and the input layer, plus the output's own copy of a shared token embedding.
  const onDevice = (n: number) => facts.weightBytes - expertsInFirst(n) - (facts.inputBytes ?? 0) + (facts.tiedOutputBytes ?? 0);
  let cpuMoeLayers = 0;
  if (facts.moeLayers.length === 0) {
    if (input.cpuMoe !== 'none' && input.cpuMoe !== 'auto' && input.cpuMoe !== 0) notes.push('dense model: no expert weights to place');
  } else if (input.cpuMoe === 'all') cpuMoeLayers = facts.layers;
  else if (input.cpuMoe === 'none') cpuMoeLayers = 0;
  else if (input.cpuMoe === 'auto') {
    if (gpu) {
      const budget = (input.freeVram ?? 0) * 0.95 - (input.contextVram ?? 0);
      cpuMoeLayers = facts.layers;
      for (let n = 0; n <= facts.layers; n++) {
        if (onDevice(n) <= budget) {
          cpuMoeLayers = n;
          break;
        }
      }
      notes.push(`auto: ${cpuMoeLayers} of ${facts.layers} layers keep their experts in RAM to fit ${formatBytes(budget)} of free VRAM with the context`);
    }
  } else cpuMoeLayers = Math.max(0, Math.min(facts.layers, Math.floor(input.cpuMoe)));
  // On the CPU backend the override still applies (experts get their own CPU buffer) but all is RAM anyway.
  if (!gpu) notes.push('CPU backend: all weights are in system RAM');

  const expertBytesInRam = gpu ? expertsInFirst(cpuMoeLayers) : totalExperts;
  const gpuBytes = gpu ? onDevice(cpuMoeLayers) : 0;
  const weights = [
    ...(gpu ? [{ device: input.backend.toUpperCase(), bytes: gpuBytes }] : []),
    { device: 'CPU', bytes: gpu ? expertBytesInRam + (facts.inputBytes ?? 0) : facts.weightBytes },
  ].filter((d) => d.bytes > 0);
  return {
    backend: input.backend,
    gpuLayers: gpu ? input.gpuLayers : 0,
    cpuMoeLayers,
    weights,
    expertBytesInRam,
    expertBytesOnGpu: totalExperts - expertBytesInRam,
    contextBytes: input.contextVram,
    ...(input.cpuMoe === 'auto' && gpu ? { gpuBudgetBytes: Math.max(0, (input.freeVram ?? 0) * 0.95 - (input.contextVram ?? 0)) } : {}),
    planned: true,
    notes,
    ...(input.rpcDevices ? { devices: planDevices(input.rpcDevices, gpuBytes) } : {}),
  };
}

/** The device bytes spread over RPC devices as llama.cpp's default split does: in proportion to free memory. */
function planDevices(devices: NonNullable<PlanInput['rpcDevices']>, bytes: number): RpcDeviceReport[] {
  const free = devices.reduce((n, d) => n + d.freeBytes, 0);
  return devices.map((d) => ({ ...d, plannedBytes: Math.round(free > 0 ? (bytes * d.freeBytes) / free : bytes / devices.length) }));
}

/**
 * The weight bytes llama.cpp allocated on each RPC device, from its load log: a buffer is named after the device's
 * index on its server and the server (`RPC0[127.0.0.1:50052]`), not the device's process-wide name (`RPC3`).
 */
export function allocatedOnDevices(devices: RpcDeviceReport[], weights: { device: string; bytes: number }[]): RpcDeviceReport[] {
  return devices.map((d, i) => {
    const index = devices.slice(0, i).filter((o) => o.endpoint === d.endpoint).length;
    return { ...d, allocatedBytes: weights.find((w) => w.device === `RPC${index}[${d.endpoint}]`)?.bytes ?? 0 };
  });
}

/** Model buffers from llama.cpp's load log: "load_tensors:   CPU_Mapped model buffer size =     3.73 MiB". */
export function parseBufferLog(log: string): { weights: { device: string; bytes: number }[]; contextBytes: number; overriddenExpertLayers: number[] } {
  const weights = new Map<string, number>();
  let contextBytes = 0;
  for (const match of log.matchAll(/^\S+:\s+(\S+) (model|KV|compute|output|RS) buffer size =\s+([\d.]+) MiB/gm)) {
    const bytes = Math.round(Number(match[3]) * 2 ** 20);
    if (match[2] === 'model') {
      const device = match[1];
      weights.set(device, (weights.get(device) ?? 0) + bytes);
    } else contextBytes += bytes;
  }
  // "tensor blk.0.ffn_up_exps.weight (1 MiB f32) buffer type overridden to CPU"
  const overridden = new Set<number>();
  for (const match of log.matchAll(/tensor blk\.(\d+)\.ffn_\w+_exps\.weight .* buffer type overridden/g)) overridden.add(Number(match[1]));
  return {
    weights: [...weights].map(([device, bytes]) => ({ device, bytes })),
    contextBytes,
    overriddenExpertLayers: [...overridden].sort((a, b) => a - b),
  };
}

export function describeModel(file: ModelFile, facts: ModelFacts, contextSize: number, placement: PlacementReport): GgufModelInfo {
  const meta = file.info.metadata as { general?: { name?: string; tags?: unknown }; tokenizer?: { chat_template?: string } };
  const isMoe = facts.moeLayers.length > 0;
  return {
    path: file.path,
    name: meta.general?.name || path.basename(file.path).replace(/\.gguf$/i, ''),
    architecture: file.architecture,
    layers: facts.layers,
    ...(isMoe
      ? {
          routing: {
            moeLayers: facts.moeLayers,
            experts: facts.experts,
            expertsPerToken: facts.expertsPerToken,
            ...(facts.modelExpertsPerToken !== undefined ? { modelExpertsPerToken: facts.modelExpertsPerToken } : {}),
            sharedExperts: facts.sharedExperts,
            ...(facts.expertGroups ? { expertGroups: facts.expertGroups } : {}),
            ...originalExpertsOf(file.info.metadata, facts.moeLayers, facts.experts),
          },
        }
      : {}),
    totalParams: facts.totalParams,
    activeParams: facts.activeParams,
    embeddingLength: facts.embeddingLength,
    vocabSize: facts.vocabSize,
    trainContextLength: facts.trainContextLength,
    contextSize,
    fileBytes: file.fileBytes,
    hasChatTemplate: typeof meta.tokenizer?.chat_template === 'string',
    continuesText: Array.isArray(meta.general?.tags) && meta.general.tags.includes(TEXT_CONTINUATION_TAG),
    placement,
    capabilities: localCapabilities(isMoe),
  };
}

/** What the local engine reports for a model: routing with gate weights for MoE models, exact token counts, placement, interventions. */
export function localCapabilities(isMoe: boolean): EngineCapabilities {
  return {
    routingIds: isMoe,
    gateWeights: isMoe,
    tokenIds: true,
    tokenCounting: 'exact',
    placement: true,
    interventions: isMoe,
    concurrentRequests: false,
    ...(isMoe ? {} : { routingAbsent: 'dense-model' as const }),
  };
}
