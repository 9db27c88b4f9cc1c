// Server dialects: what each kind of OpenAI-compatible server does beyond the common API, one entry per kind —
// how its `/v1/models` entry is recognised, where its context size is, which tokenizer endpoints it has, which
// sampling fields it takes, and whether and how it reports routing (the request fields that ask for it and the
// decoder of its payload). The remote engine reads these and branches on no server name. Adding a server is one
// entry in `DIALECTS`. No vscode import.
import { EngineError } from './errors';
import type { HttpClient } from './http';
import { validOriginalIds, type PrunedIds } from './original-experts';
import { decodeSglangRouting, decodeVllmRouting, type DecodedRouting } from './server-routing';
import type { StreamChoice } from './sse-chunk';
import type { EngineCapabilities, GenerateInput, RoutingAbsence, SamplingOptions } from './types';

/** What `moe-lens serve` adds to each `/v1/models` entry. */
export interface MoeLensModelMeta {
  context_size: number;
  layers: number;
  moe_layers: number[];
  experts: number;
  experts_per_token: number;
  architecture: string;
  is_moe: boolean;
  /** A pruned model: per model layer id, the original id of each expert slot (ModelRouting.originalExpertIds). */
  original_expert_ids?: Record<string, number[]>;
  /** A pruned model: experts per layer before pruning. */
  original_experts?: number;
}

/** A pruned model's original expert ids from `moe-lens serve`'s meta, validated against the meta's own shape ({} if they do not fit). */
export function moeLensOriginalIds(meta: MoeLensModelMeta): PrunedIds {
  return validOriginalIds(meta.original_expert_ids, meta.moe_layers, meta.experts, meta.original_experts);
}

/** One `/v1/models` entry, with the fields servers add (llama-server's `meta`, vLLM's `max_model_len`, …). */
export interface ModelEntry {
  id: string;
  owned_by?: string;
  max_model_len?: number;
  meta?: { n_ctx?: number; n_ctx_train?: number; n_params?: number; n_vocab?: number; n_embd?: number; size?: number };
  moe_lens?: MoeLensModelMeta;
}

/** Counting input of a tokenizer route (token input is counted by its length). */
export type CountInput = Exclude<GenerateInput, { kind: 'tokens' }>;

/** A server's own tokenizer endpoints. */
export interface TokenizerRoute {
  tokenize(http: HttpClient, model: string, text: string): Promise<number[]>;
  detokenize(http: HttpClient, model: string, ids: number[]): Promise<string>;
  /** The tokens of a prompt as the server will see it (chat template applied). */
  count(http: HttpClient, model: string, input: CountInput): Promise<number>;
}

/** The routing shape a server's payload does not carry itself (from `moe-lens serve`'s meta or the user's setting). */
export interface RoutingShape {
  layers: number;
  k: number;
}

/** Facts known at load that decide whether routing can be reported. */
export interface RoutingContext {
  shapeKnown: boolean;
  stream: boolean;
  meta?: MoeLensModelMeta;
}

export interface RoutingReport {
  /** Why there will be no routing for this load; undefined: there will be. */
  absent(context: RoutingContext): RoutingAbsence | undefined;
  /** The request fields that ask for it. */
  request(chat: boolean): Record<string, unknown>;
  /**
   * A server that reports routing once, at the end of the answer: each choice's payload, and the generated tokens'
   * routing decoded from the payloads of all chunks (undefined: the server sent none — its flag is off). Absent: the
   * routing comes with each chunk (`moe-lens serve`'s frames).
   */
  endOfAnswer?: {
    payload(choice: StreamChoice): unknown;
    decode(payloads: unknown[], shape: RoutingShape | undefined, promptTokens: number): DecodedRouting | undefined;
  };
}

export interface ServerDialect {
  readonly kind: string;
  /** Whether a `/v1/models` entry (its `owned_by` lower-cased as `owner`) is this server's; tried in `DIALECTS` order. */
  detect(entry: ModelEntry, owner: string): boolean;
  /** The context size where the models entry does not give it. */
  contextSize?(http: HttpClient, entry: ModelEntry, signal?: AbortSignal): Promise<number | undefined>;
  /** Exact token counts; absent: the estimate. */
  tokenizer?: TokenizerRoute;
  /** Sampling fields beyond OpenAI's that the server takes. */
  samplingExtras?(s: Partial<SamplingOptions>): Record<string, unknown>;
  /** Absent: the server does not report routing. */
  routing?: RoutingReport;
  /** Frames carry token ids, texts and gate weights, as the local engine's (only `moe-lens serve`). */
  engineFrames?: boolean;
}

function protocol(message: string): EngineError {
  return new EngineError('remote-protocol', message);
}

/** llama-server's `/tokenize`, `/detokenize` and `/apply-template`. */
const llamaTokenizer: TokenizerRoute = {
  async tokenize(http, _model, text) {
    const r = await http.json<{ tokens?: number[] }>('/tokenize', { content: text, add_special: false });
    if (!Array.isArray(r.tokens)) throw protocol(`${http.base}/tokenize returned no tokens`);
    return r.tokens;
  },
  async detokenize(http, _model, ids) {
    const r = await http.json<{ content?: unknown }>('/detokenize', { tokens: ids });
    if (typeof r.content !== 'string') throw protocol(`${http.base}/detokenize returned no text`);
    return r.content;
  },
  async count(http, _model, input) {
    let content = input.kind === 'text' ? input.text : '';
    if (input.kind === 'chat') {
      const r = await http.json<{ prompt?: unknown }>('/apply-template', { messages: input.messages });
      if (typeof r.prompt !== 'string') throw protocol(`${http.base}/apply-template returned no prompt`);
      content = r.prompt;
    }
    const r = await http.json<{ tokens?: unknown[] }>('/tokenize', { content, add_special: true, parse_special: true });
    if (!Array.isArray(r.tokens)) throw protocol(`${http.base}/tokenize returned no tokens`);
    return r.tokens.length;
  },
};

/** vLLM's `/tokenize` and `/detokenize` (which `moe-lens serve` answers too). */
const vllmTokenizer: TokenizerRoute = {
  async tokenize(http, model, text) {
    const r = await http.json<{ tokens?: number[] }>('/tokenize', { model, prompt: text, add_special_tokens: false });
    if (!Array.isArray(r.tokens)) throw protocol(`${http.base}/tokenize returned no tokens`);
    return r.tokens;
  },
  async detokenize(http, model, ids) {
    const r = await http.json<{ prompt?: unknown }>('/detokenize', { model, tokens: ids });
    if (typeof r.prompt !== 'string') throw protocol(`${http.base}/detokenize returned no text`);
    return r.prompt;
  },
  async count(http, model, input) {
    const r = await http.json<{ count?: number; tokens?: number[] }>('/tokenize', input.kind === 'chat' ? { model, messages: input.messages } : { model, prompt: input.text });
    const n = r.count ?? r.tokens?.length;
    if (typeof n !== 'number') throw protocol(`${http.base}/tokenize returned no count`);
    return n;
  },
};

/** llama.cpp's sampling fields (llama-server, `moe-lens serve`). */
function llamaSampling(s: Partial<SamplingOptions>): Record<string, unknown> {
  return {
    ...(s.topK !== undefined ? { top_k: s.topK } : {}),
    ...(s.minP !== undefined ? { min_p: s.minP } : {}),
    ...(s.repeatPenalty !== undefined ? { repeat_penalty: s.repeatPenalty } : {}),
    ...(s.repeatLastN !== undefined ? { repeat_last_n: s.repeatLastN } : {}),
  };
}

/** vLLM's and SGLang's sampling fields (no repeat window). */
function vllmSampling(s: Partial<SamplingOptions>): Record<string, unknown> {
  return {
    ...(s.topK !== undefined ? { top_k: s.topK } : {}),
    ...(s.minP !== undefined ? { min_p: s.minP } : {}),
    ...(s.repeatPenalty !== undefined ? { repetition_penalty: s.repeatPenalty } : {}),
  };
}

/** The routed experts of the generated tokens: `all` holds the prompt's rows first. */
function generatedRows(all: DecodedRouting, promptTokens: number): DecodedRouting {
  const skip = Math.min(promptTokens, all.tokens);
  return { ...all, tokens: all.tokens - skip, experts: all.experts.subarray(skip * all.layers * all.k) };
}

const byOwner =
  (...owners: string[]) =>
  (_entry: ModelEntry, owner: string): boolean =>
    owners.includes(owner);

/** Every server this client knows, in detection order (the generic one, which matches anything, last). */
export const DIALECTS = [
  {
    kind: 'moe-lens',
    detect: (entry, owner) => entry.moe_lens !== undefined || owner === 'moe-lens',
    tokenizer: vllmTokenizer,
    samplingExtras: llamaSampling,
    engineFrames: true,
    routing: {
      absent: ({ meta }) => (meta?.is_moe ? undefined : 'dense-model'),
      request: () => ({ return_routed_experts: true }),
    },
  },
  {
    kind: 'llama.cpp',
    detect: (entry, owner) => owner === 'llamacpp' || entry.meta?.n_ctx_train !== undefined,
    // meta.n_ctx (read before this) is one slot's context (its -c divided by -np); /props says it too.
    async contextSize(http, entry, signal) {
      const props = await http.json<{ default_generation_settings?: { n_ctx?: number }; n_ctx?: number }>('/props', undefined, signal).catch(() => undefined);
      return props?.default_generation_settings?.n_ctx ?? props?.n_ctx ?? entry.meta?.n_ctx_train;
    },
    tokenizer: llamaTokenizer,
    samplingExtras: llamaSampling,
  },
  {
    kind: 'vllm',
    detect: byOwner('vllm'),
    tokenizer: vllmTokenizer,
    samplingExtras: vllmSampling,
    routing: {
      // vLLM returns routed_experts only on a whole (not streamed) answer.
      absent: ({ stream }) => (stream ? 'vllm-streaming' : undefined),
      request: (chat) => (chat ? { logprobs: true } : { logprobs: 0 }),
      endOfAnswer: {
        payload: (choice) => choice.routed_experts ?? undefined,
        decode: (payloads) => (payloads.length ? decodeVllmRouting(payloads[payloads.length - 1]) : undefined),
      },
    },
  },
  {
    kind: 'sglang',
    detect: byOwner('sglang'),
    samplingExtras: vllmSampling,
    routing: {
      // The payload does not carry its shape.
      absent: ({ shapeKnown }) => (shapeKnown ? undefined : 'shape-unknown'),
      request: (chat) => ({ return_routed_experts: true, ...(chat ? { logprobs: true } : { logprobs: 0 }) }),
      endOfAnswer: {
        payload: (choice) => choice.sgl_ext?.routed_experts || undefined,
        decode: (payloads, shape, promptTokens) =>
          payloads.length && shape ? generatedRows(decodeSglangRouting(payloads.join(''), shape.layers, shape.k), promptTokens) : undefined,
      },
    },
  },
  { kind: 'ollama', detect: byOwner('library', 'ollama') },
  { kind: 'lm-studio', detect: byOwner('organization_owner', 'lm-studio', 'lmstudio') },
  { kind: 'openai-compatible', detect: () => true },
] as const satisfies readonly ServerDialect[];

/** Which server answers at an endpoint, as detected from `/v1/models`. */
export type ServerKind = (typeof DIALECTS)[number]['kind'];

export function detectDialect(entry: ModelEntry | undefined): ServerDialect & { kind: ServerKind } {
  const owner = (entry?.owned_by ?? '').toLowerCase();
  return DIALECTS.find((d) => d.detect(entry ?? { id: '' }, owner)) ?? DIALECTS[DIALECTS.length - 1];
}

/** What a server can report and do, before its first answer (which may still turn routing off: see `RemoteEngine`). */
export function dialectCapabilities(dialect: ServerDialect, context: RoutingContext): EngineCapabilities {
  const routingAbsent = dialect.routing ? dialect.routing.absent(context) : 'server-does-not-report';
  return {
    routingIds: routingAbsent === undefined,
    gateWeights: dialect.engineFrames === true && routingAbsent === undefined,
    tokenIds: dialect.engineFrames === true,
    tokenCounting: dialect.tokenizer ? 'exact' : 'estimate',
    placement: false,
    interventions: false,
    concurrentRequests: true,
    ...(routingAbsent ? { routingAbsent } : {}),
  };
}
