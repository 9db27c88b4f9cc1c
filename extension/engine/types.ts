// Public types of the inference engine. Shared by the engine process, its client, the CLI, the evals
// runner and the VS Code adapters. No runtime code and no `vscode` import here.
import type { EngineMethods } from './surface';

/** Where expert weights live: all layers' experts in system RAM, none, the first N layers', or a plan. */
export type CpuMoe = 'all' | 'none' | 'auto' | number;

/** A local GGUF file run by the engine process (llama.cpp + the native addon). `backend` may be left out. */
export interface LocalLoadOptions {
  backend?: 'local';
  modelPath: string;
  /** Layers offloaded to the GPU: 'max' (all), 'auto' (node-llama-cpp's fit), or a number. Ignored on CPU. */
  gpuLayers?: 'auto' | 'max' | number;
  cpuMoe?: CpuMoe;
  /** Context size in tokens; defaults to min(model's training context, 4096). */
  contextSize?: number;
  threads?: number;
  /** Flash attention: llama.cpp decides by default. */
  flashAttention?: boolean;
  /** KV cache precision; llama.cpp's default is f16. */
  kvCache?: 'f16' | 'f32';
  /** Refuse dense models (no experts) with an error instead of loading them. */
  requireMoe?: boolean;
  /**
   * Experts the router picks per token (top-k), instead of the model's own: llama.cpp's
   * `<arch>.expert_used_count` override at load. 1..experts; refused for dense models.
   */
  expertsPerToken?: number;
  /**
   * llama.cpp RPC servers (`HOST:PORT`, each running ggml-rpc-server): the model's layers go on their devices, the
   * MoE offload rules keeping experts in local RAM or not. RPC has no authentication: a host other than loopback
   * is refused unless `allowRemoteRpc`.
   */
  rpcServers?: string[];
  allowRemoteRpc?: boolean;
}

/** A model served over the OpenAI-compatible HTTP API (llama-server, vLLM, SGLang, Ollama, LM Studio, `moe-lens serve`). */
export interface RemoteLoadOptions {
  backend: 'remote';
  /** The server's base URL, e.g. `http://127.0.0.1:8080` (a trailing `/v1` is accepted). */
  endpoint: string;
  /** The model id as `/v1/models` lists it; empty or absent = the server's first model. */
  model?: string;
  /** Sent as `Authorization: Bearer …`; comes from SecretStorage (extension) or an environment variable (CLI). */
  apiKey?: string;
  /** Context in tokens when the server does not report it (default 4096). */
  contextSize?: number;
  /**
   * The routing shape for servers whose payload does not carry it (SGLang's flat int32 array): the number of MoE
   * layers and experts per token, and the experts per layer (for the lens's legend). `moe-lens serve` reports it.
   */
  routingShape?: { moeLayers: number; expertsPerToken: number; experts?: number };
  /** Per-request time limit without any byte from the server, in ms (default 120 000). */
  timeoutMs?: number;
  /**
   * Stream answers (default true). vLLM reports routed experts only without streaming: false trades the streamed
   * text for the lens there.
   */
  stream?: boolean;
  /** Refuse a model that reports no experts. */
  requireMoe?: boolean;
}

/**
 * Each backend's load options, by its kind (the options' `backend`; a local GGUF may leave it out). A new backend adds
 * its entry from its own file (`declare module './types' { interface BackendOptions { … } }`) and registers in
 * backends.ts.
 */
export interface BackendOptions {
  local: LocalLoadOptions;
  remote: RemoteLoadOptions;
}
export type BackendKind = keyof BackendOptions;

/**
 * Which model, as a value: a GGUF file, or a model on a server (`model` empty: the server's first). Displayed by
 * `formatModelIdentity` (format.ts); never parsed back from text.
 */
export type ModelIdentity = { kind: 'local'; path: string } | { kind: 'server'; endpoint: string; model: string };

/** Load options, discriminated by backend. */
export type LoadOptions = BackendOptions[BackendKind];

/** Why a model's tokens carry no routing ids (the lens says it in words: `routingAbsenceText` in format.ts). */
export type RoutingAbsence =
  | 'dense-model'
  | 'server-does-not-report'
  | 'server-flag-off'
  | 'vllm-streaming'
  | 'shape-unknown';

/** What the engine behind a loaded model can report and do. */
export interface EngineCapabilities {
  /** Expert ids per token and MoE layer. */
  routingIds: boolean;
  /** Gate weights with the ids (never from a server other than `moe-lens serve`). */
  gateWeights: boolean;
  /** Token ids and per-token texts in frames (else frames carry text deltas only). */
  tokenIds: boolean;
  /** `countTokens` is exact (the model's tokenizer) or an estimate (see `estimateTokens` in remote-engine.ts). */
  tokenCounting: 'exact' | 'estimate';
  /** `ModelInfo.placement` (GPU layers, MoE offload, memory per device). */
  placement: boolean;
  /** Expert interventions on `GenerateRequest` (issue 8). */
  interventions: boolean;
  /** Several `generate` calls may run at once (a server batches them); the local engine runs one at a time. */
  concurrentRequests: boolean;
  /** When `routingIds` is false, or may be false for some requests: why. */
  routingAbsent?: RoutingAbsence;
}

/** Which server answers at an endpoint: one per entry of `DIALECTS` (dialects.ts). */
export type { ServerKind } from './dialects';
import type { ServerKind } from './dialects';

export interface RemoteModelInfo {
  endpoint: string;
  server: ServerKind;
  /** The model id sent in requests. */
  model: string;
}

export interface DeviceMemory {
  /** 'CPU', 'CUDA0', 'Vulkan0', 'Metal', ... as llama.cpp names the buffer's device. */
  device: string;
  bytes: number;
}

export interface PlacementReport {
  backend: 'cuda' | 'vulkan' | 'metal' | 'rpc' | 'cpu';
  gpuLayers: number;
  /** Number of leading layers whose expert weights are kept in system RAM (0..layers). */
  cpuMoeLayers: number;
  /** Bytes of model weights per device, as loaded (or as planned, for `inspect`). */
  weights: DeviceMemory[];
  /** Bytes of expert weights in system RAM and on the GPU. */
  expertBytesInRam: number;
  expertBytesOnGpu: number;
  /** KV cache + compute buffers, when known. */
  contextBytes?: number;
  /** With `auto` on a GPU: the VRAM the weights had to fit in (95 % of free VRAM less the context). */
  gpuBudgetBytes?: number;
  /** After a load: the layers whose expert tensors llama.cpp actually placed by our override (from its log). */
  overriddenExpertLayers?: number[];
  /** True when this is a plan computed from the GGUF before loading. */
  planned: boolean;
  notes: string[];
  /** RPC devices (backend 'rpc'): each one's memory, the weight bytes planned on it and, after a load, allocated. */
  devices?: RpcDeviceReport[];
}

export interface RpcDeviceReport {
  /** llama.cpp's name (RPC0, RPC1, …) and the server it is on. */
  name: string;
  endpoint: string;
  freeBytes: number;
  totalBytes: number;
  plannedBytes: number;
  allocatedBytes?: number;
}

/**
 * The model's experts, as loaded. Absent for a dense model and for a server that does not say (the capabilities'
 * `routingAbsent` says which).
 */
export interface ModelRouting {
  /** Layers with an expert router (equal to `layers` for Mixtral). Routing arrays are indexed by these. */
  moeLayers: number[];
  /** Experts per MoE layer; 0 when a server's configured routing shape leaves it out. */
  experts: number;
  /** Experts used per token as loaded (LoadOptions.expertsPerToken when given). */
  expertsPerToken: number;
  /** The model's own top-k, when LoadOptions.expertsPerToken overrode it. */
  modelExpertsPerToken?: number;
  sharedExperts: number;
  /** DeepSeek-style expert groups (experts split evenly, in order): the router searches only the best `searched` of `count`. */
  expertGroups?: { count: number; searched: number };
  /** A pruned model (original-experts.ts): per model layer id, the original id of each expert slot. */
  originalExpertIds?: Record<number, number[]>;
  /** A pruned model: experts per layer before pruning (with originalExpertIds). */
  originalExperts?: number;
}

export interface ModelInfo {
  /**
   * The GGUF path, or for a remote model `model @ endpoint`. For a server, `layers` and `routing` are what it
   * reports (`moe-lens serve`) or the configured routing shape, else absent, as are the file facts below that a
   * server does not report.
   */
  path: string;
  name: string;
  architecture: string;
  /** Blocks (transformer layers); absent when a server does not say. */
  layers?: number;
  /** Absent for a dense model and for a server that reports no experts. */
  routing?: ModelRouting;
  totalParams?: number;
  activeParams?: number;
  embeddingLength?: number;
  vocabSize?: number;
  trainContextLength?: number;
  contextSize: number;
  fileBytes?: number;
  hasChatTemplate: boolean;
  /** The model continues text rather than answering as an assistant (GGUF `general.tags` has `text-continuation`): the engine renders chats for it without the system prompt. */
  continuesText: boolean;
  /** Where the weights live; absent for a remote model. */
  placement?: PlacementReport;
  capabilities: EngineCapabilities;
  /** Present for a model served over HTTP. */
  remote?: RemoteModelInfo;
}

/** A GGUF model run by the local engine: every file fact and the placement are known (`routing` only for a MoE model). */
export type GgufModelInfo = ModelInfo &
  Required<Pick<ModelInfo, 'layers' | 'totalParams' | 'activeParams' | 'embeddingLength' | 'vocabSize' | 'trainContextLength' | 'fileBytes' | 'placement'>>;

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  /** An assistant turn's tool calls, each with the result the caller sent back (rendered in the template's format). */
  toolCalls?: (ToolCall & { result: string })[];
}

/** A tool a caller offers the model: its name, what it does, and the JSON schema of its input. */
export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema?: object;
}

/** A call the model made (parsed from the chat template's call syntax): the tool's name and its JSON input. */
export interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

export interface SamplingOptions {
  /** 0 is greedy. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  seed: number;
  maxTokens: number;
  stop: string[];
}

export type GenerateInput =
  | { kind: 'text'; text: string }
  | { kind: 'tokens'; ids: number[] }
  | { kind: 'chat'; messages: ChatMessage[] };

/**
 * Experts switched off or forced, per MoE layer. Keys are the model's block numbers as strings, or `*` for
 * every MoE layer (a layer named on its own as well gets the union). Parsed from the CLI's SPEC
 * (`LAYER:EXPERT[,EXPERT…]` joined with `;`) by extension/engine/intervention.ts, which also validates it.
 */
export interface Intervention {
  /**
   * Experts the router may not choose, as if pruned: a softmax router's choice and weights are computed over
   * the experts left; a sigmoid router's score is left out of the selection and the group scores.
   */
  ablate?: Record<string, number[]>;
  /**
   * The only experts the layer may use (1..top-k of them): every other expert's router score is -inf, so
   * the gate weights follow the architecture's own rule over the forced experts (a softmax router gives
   * them all the weight). With fewer than top-k forced, the remaining slots hold experts of gate weight 0:
   * the layer's output is the forced experts' alone, and the routing reports those slots with weight 0.
   */
  force?: Record<string, number[]>;
}

export interface GenerateRequest {
  input: GenerateInput;
  /** Experts switched off or forced for this generation (validated against the loaded model). */
  intervention?: Intervention;
  sampling?: Partial<SamplingOptions>;
  /** Record the router's choice for every token (default true). */
  captureRouting?: boolean;
  /**
   * Reuse the KV cache of the previous request's common prefix (default true). Reused tokens are not
   * evaluated again, so they get no new routing: a new conversation passes false.
   */
  reuseCache?: boolean;
  /** Tools offered to a chat input, rendered into the prompt in the chat template's function-calling format. */
  tools?: ToolDefinition[];
  /** `required`: the output is constrained by a grammar to exactly one call to one of `tools` (default `auto`). */
  toolMode?: 'auto' | 'required';
  /** A GBNF grammar (root rule `root`) the generated text must match (local engine only). */
  grammar?: string;
}

/**
 * Texts evaluated for their routing only (the routing atlas): each alone, from an empty context, as a raw prompt
 * (BOS + its text, no chat template, as `generate` with text input); no token is generated.
 */
export interface RouteRequest {
  texts: string[];
  /** Tokens kept per text at most, the BOS not counted; longer texts are cut (default and ceiling: the context less 2). */
  maxTokens?: number;
  /** false: the same evaluation without capture (a benchmark's baseline: the result has no routing). Default true. */
  capture?: boolean;
  intervention?: Intervention;
}

/** The routing of a RouteRequest's texts, packed: every text's tokens one after the other, the BOS left out. */
export interface RouteResult {
  /** Per text: its tokens here (0 for a text of none, which was not evaluated), and whether it was cut. */
  lengths: Int32Array;
  truncated: Uint8Array;
  ids: Int32Array;
  /** Token i's piece is pieceBytes[pieceOffsets[i] .. pieceOffsets[i + 1]) (route.ts pieceTexts decodes them). */
  pieceBytes: Uint8Array;
  pieceOffsets: Int32Array;
  /** As in a TokenFrame: experts[(t * layers + l) * k + r], ranked by gate weight; empty without capture. */
  experts: Uint16Array;
  weights: Float32Array;
  k: number;
  layers: number;
  ms: number;
}

export type TokenPhase = 'prompt' | 'generated';

/**
 * A batch of consecutive tokens of one phase with their routing.
 * Routing layout: token-major, then MoE layer, then rank (experts ordered by gate weight, descending):
 * `experts[(t * moeLayers.length + l) * k + r]`. Empty arrays when capture is off or the model is dense.
 */
export interface TokenFrame {
  phase: TokenPhase;
  /** Index of the first token of this frame in the whole sequence (prompt tokens first). */
  firstIndex: number;
  ids: Int32Array;
  /** Each token's own text piece (may hold U+FFFD for a partial UTF-8 sequence). */
  texts: string[];
  /** Text to append to the streamed answer (complete UTF-8, stop strings held back). */
  textDelta: string;
  experts: Uint16Array;
  weights: Float32Array;
  /** experts per token per layer (k), and the number of MoE layers in the layout. */
  k: number;
  layers: number;
}

export type StopReason = 'eos' | 'stop-string' | 'max-tokens' | 'aborted' | 'context-full';

export interface GenerationResult {
  text: string;
  /** With `tools`: the calls the model made (`text` is then what it wrote around them). */
  toolCalls?: ToolCall[];
  stopReason: StopReason;
  promptTokens: number;
  generatedTokens: number;
  promptTokensPerSecond: number;
  generatedTokensPerSecond: number;
  timeToFirstTokenMs: number;
  routingCaptured: boolean;
}

export type EngineErrorCode =
  | 'file-not-found'
  | 'not-a-file'
  | 'empty-file'
  | 'not-gguf'
  | 'truncated-gguf'
  | 'unsupported-architecture'
  | 'not-moe'
  | 'load-failed'
  | 'no-model'
  | 'context-overflow'
  | 'aborted'
  | 'engine-crashed'
  | 'version-mismatch'
  | 'unsupported-gguf-version'
  | 'remote-unavailable'
  | 'remote-auth'
  | 'remote-http'
  | 'remote-protocol'
  | 'remote-timeout'
  | 'response-too-large'
  | 'busy'
  | 'bad-intervention'
  | 'too-little-text'
  | 'bad-prune'
  | 'bad-rpc'
  | 'rpc-unavailable'
  | 'disk-full'
  | 'internal';

/** Perplexity as llama.cpp's `llama-perplexity` defines it (see extension/engine/perplexity.ts). */
export interface PerplexityRequest {
  text: string;
  /** Tokens per chunk (llama-perplexity's -c); default: the loaded context. */
  context?: number;
  /** Chunks to score at most (llama-perplexity's --chunks); default: all the text holds. */
  chunks?: number;
  intervention?: Intervention;
  /** Routing statistics: 'counts' (selections per layer and expert), 'reap' (also gate weight × expert output norm). */
  routing?: 'none' | 'counts' | 'reap';
  /** Evaluate only these chunk indices (the others are reported as skipped); default all. */
  onlyChunks?: number[];
}

export interface PerplexityChunk {
  index: number;
  /** Sums of negative log-likelihoods and of squared log-probabilities of its scored tokens, and how many. */
  nll: number;
  nll2: number;
  scored: number;
  /** Per MoE layer, a bit set (as a list) of the experts any token of the chunk chose; with routing. */
  usedExperts?: number[][];
  ms: number;
}

export interface RoutingStats {
  layers: number[];
  experts: number;
  k: number;
  /** Tokens whose routing was counted (every token of every evaluated chunk). */
  tokens: number;
  /** [moeLayer][expert]: times chosen. */
  counts: number[][];
  /** [moeLayer][expert]: sum of gate weights when chosen. */
  weightSums: number[][];
  /** [moeLayer][expert]: REAP, mean over the tokens routed to the expert of gate weight × ||expert output||. */
  reap?: number[][];
}

export interface PerplexityResult {
  perplexity: number;
  /** llama-perplexity's "±": standard error of the estimate. */
  stderr: number;
  /** Tokens of the whole text (BOS included), chunks scored, tokens per chunk, tokens scored. */
  tokens: number;
  chunks: number;
  context: number;
  scored: number;
  perChunk: PerplexityChunk[];
  routing?: RoutingStats;
  ms: number;
  tokensPerSecond: number;
}

export interface PerplexityProgress {
  chunk: number;
  chunks: number;
  /** Perplexity over the chunks so far. */
  perplexity: number;
}

export interface GenerateCallbacks {
  onFrame?: (frame: TokenFrame) => void;
  /** The model's capabilities changed during this answer (a server asked for routing sent none); `model.capabilities` holds the new ones. */
  onCapabilities?: (capabilities: EngineCapabilities) => void;
  signal?: AbortSignal;
}

export interface PerplexityCallbacks {
  onProgress?: (progress: PerplexityProgress) => void;
  signal?: AbortSignal;
}

/**
 * The engine as its callers see it. `O` is the load options it accepts: the local engine and its child-process client
 * take `LocalLoadOptions`, the HTTP one `RemoteLoadOptions`, and `AnyEngine` (what the CLI and the extension use) all.
 * Its methods are declared once, in the method map (`EngineMethods` in surface.ts).
 */
export interface Engine<O extends LoadOptions = LoadOptions, I extends ModelInfo = ModelInfo> extends EngineMethods<O, I> {
  readonly model: I | undefined;
  dispose(): Promise<void>;
}

/** How loud a log line is, and where the engine, the chat and the webview hosts write them (one definition). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;
