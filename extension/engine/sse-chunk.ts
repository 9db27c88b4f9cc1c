// One answer chunk of an OpenAI-compatible server (an SSE `data:` payload of a streamed answer, or the whole JSON
// body of one that is not streamed), validated into a typed `StreamChunk`. Only the fields the remote engine reads
// are checked; others pass untouched. A payload that is not JSON, a server error object, or a field of the wrong
// type is one `EngineError` whose message names the server and the field. Pure; no vscode import.
import Ajv, { type ErrorObject, type JSONSchemaType } from 'ajv';
import { EngineError } from './errors';
import { serverMessage } from './http';

/** What `moe-lens serve` adds to each choice of an answer chunk (besides SGLang's `sgl_ext.routed_experts`). */
export interface MoeLensChunk {
  phase: 'prompt' | 'generated';
  first_index: number;
  token_ids: number[];
  token_texts: string[];
  /** base64 little-endian float32, same layout as the routed experts. */
  gate_weights?: string;
}

/** A not-streamed `moe-lens serve` answer lists its frames, each with its own routing (SGLang's encoding). */
export type MoeLensFrameChunk = MoeLensChunk & { routed_experts?: string };

/** The fields of a choice the schema checks. */
interface CheckedChoice {
  /** Chat, streamed. */
  delta?: { content?: string | null } | null;
  /** Chat, not streamed. */
  message?: { content?: string | null } | null;
  /** Text completion. */
  text?: string | null;
  finish_reason?: string | null;
  /** Chat's per-token `content`, or a text completion's `tokens`. */
  logprobs?: { content?: { token: string }[] | null; tokens?: string[] | null } | null;
  /** SGLang: base64 int32 routing, spread over the chunks. */
  sgl_ext?: { routed_experts?: string | null } | null;
  moe_lens?: MoeLensChunk | MoeLensFrameChunk[];
}

/** vLLM's `routed_experts` (base64 `.npy` or nested lists) is checked by its decoder, `decodeVllmRouting`. */
export type StreamChoice = CheckedChoice & { routed_experts?: unknown };

interface CheckedChunk {
  choices: CheckedChoice[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  timings?: { prompt_per_second?: number; predicted_per_second?: number } | null;
}

export type StreamChunk = CheckedChunk & { choices: StreamChoice[] };

const nullableString = { type: 'string', nullable: true } as const;
const count = { type: 'integer', minimum: 0, nullable: true } as const;
const rate = { type: 'number', nullable: true } as const;

const moeLensProperties = {
  phase: { type: 'string', enum: ['prompt', 'generated'] },
  first_index: { type: 'integer', minimum: 0 },
  token_ids: { type: 'array', items: { type: 'integer' } },
  token_texts: { type: 'array', items: { type: 'string' } },
  gate_weights: { type: 'string', nullable: true },
} as const;
const moeLensRequired = ['phase', 'first_index', 'token_ids', 'token_texts'] as const;

const schema: JSONSchemaType<CheckedChunk> = {
  type: 'object',
  required: ['choices'],
  properties: {
    choices: {
      type: 'array',
      items: {
        type: 'object',
        required: [],
        properties: {
          delta: { type: 'object', nullable: true, required: [], properties: { content: nullableString } },
          message: { type: 'object', nullable: true, required: [], properties: { content: nullableString } },
          text: nullableString,
          finish_reason: nullableString,
          logprobs: {
            type: 'object',
            nullable: true,
            required: [],
            properties: {
              content: { type: 'array', nullable: true, items: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } } },
              tokens: { type: 'array', nullable: true, items: { type: 'string' } },
            },
          },
          sgl_ext: { type: 'object', nullable: true, required: [], properties: { routed_experts: nullableString } },
          moe_lens: {
            type: ['object', 'array'],
            nullable: true,
            oneOf: [
              { type: 'object', required: moeLensRequired, properties: moeLensProperties },
              {
                type: 'array',
                items: { type: 'object', required: moeLensRequired, properties: { ...moeLensProperties, routed_experts: { type: 'string', nullable: true } } },
              },
            ],
          },
        },
      },
    },
    usage: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { prompt_tokens: count, completion_tokens: count },
    },
    timings: {
      type: 'object',
      nullable: true,
      required: [],
      properties: { prompt_per_second: rate, predicted_per_second: rate },
    },
  },
};

const validate = new Ajv({ strict: false }).compile(schema);

/** "choices[0].delta.content must be string": the deepest of ajv's errors (a `oneOf` reports each branch's). */
function describe(errors: ErrorObject[] | null | undefined): string {
  const error = errors?.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
  if (!error) return 'it does not match the expected shape';
  const at = error.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.').replace(/^\./, '') || 'the chunk';
  if (error.keyword === 'required') return `${at === 'the chunk' ? '' : `${at}: `}"${(error.params as { missingProperty: string }).missingProperty}" is missing`;
  return `${at} ${error.message ?? 'is malformed'}`;
}

/**
 * One answer payload (`source`, the server's address, names it in errors) into a `StreamChunk`. Throws an
 * EngineError: `remote-protocol` for text that is not JSON or a chunk of the wrong shape, `remote-http` for the
 * server's own error object (`{"error": …}`, which servers send mid-stream when generation fails).
 */
export function parseStreamChunk(payload: string, source: string): StreamChunk {
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    throw new EngineError('remote-protocol', `${source} sent an answer chunk that is not JSON: ${payload.slice(0, 120).replace(/\s+/g, ' ')}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new EngineError('remote-protocol', `${source} sent an answer chunk that is not a JSON object: ${payload.slice(0, 120).replace(/\s+/g, ' ')}`);
  const error = (data as { error?: unknown }).error;
  if (error !== undefined && error !== null) throw new EngineError('remote-http', `${source} reported an error mid-answer: ${serverMessage(payload)}`);
  if (!validate(data)) throw new EngineError('remote-protocol', `${source} sent an answer chunk this client cannot read: ${describe(validate.errors)}`);
  return data;
}
