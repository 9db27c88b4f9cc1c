// Routing export: JSONL (the CLI's format, one object per token) and CSV (one row per token × layer × rank,
// RFC 4180). Pure: no vscode, no DOM. Weights are written as the shortest decimal that reads back as the
// same float32 (see float32Shortest). The CLI numbers tokens by their position in the model's context; the chat's
// export (messageTokens) numbers them as the lens does: the message (from 1) and the token within it (from 1).

import type { RoutingBlock } from '../protocol';
import { float32Shortest } from './math';

export interface JsonlToken {
  index: number;
  phase: RoutingBlock['phase'];
  id: number;
  text: string;
  /** experts[l][r]: one array of k expert ids per MoE layer, ranked by gate weight desc. */
  experts: number[][];
  weights: number[][];
}

/** The per-token records of some blocks, in order. Tokens without routing get empty experts/weights. */
export function* exportTokens(blocks: Iterable<RoutingBlock>): Generator<JsonlToken> {
  for (const block of blocks) {
    const { layers, k } = block;
    const stride = layers * k;
    for (let t = 0; t < block.ids.length; t++) {
      const experts: number[][] = [];
      const weights: number[][] = [];
      if (stride > 0 && block.experts.length >= (t + 1) * stride) {
        for (let l = 0; l < layers; l++) {
          const o = (t * layers + l) * k;
          const e: number[] = [];
          const w: number[] = [];
          for (let r = 0; r < k; r++) {
            e.push(block.experts[o + r]);
            w.push(float32Shortest(block.weights[o + r]));
          }
          experts.push(e);
          weights.push(w);
        }
      }
      yield { index: block.firstIndex + t, phase: block.phase, id: block.ids[t], text: block.texts[t] ?? '', experts, weights };
    }
  }
}

/** The routing of one message of a conversation; `message` is its number in the conversation, from 1. */
export interface MessageRouting {
  message: number;
  blocks: readonly RoutingBlock[];
}

export type MessageToken = JsonlToken & { message: number };

/** The tokens of some messages, each numbered within its message from 1 (as the lens and the what-if number them). */
export function* messageTokens(messages: Iterable<MessageRouting>): Generator<MessageToken> {
  for (const m of messages) {
    let index = 0;
    for (const tok of exportTokens(m.blocks)) yield { message: m.message, ...tok, index: ++index };
  }
}

/** One JSON line per token: {["message",]"index","phase","id","text","experts":[[...] per layer],"weights":[[...]]}. */
function* jsonl(tokens: Iterable<JsonlToken & { message?: number }>): Generator<string> {
  for (const tok of tokens) {
    yield JSON.stringify({ ...(tok.message !== undefined ? { message: tok.message } : {}), index: tok.index, phase: tok.phase, id: tok.id, text: tok.text, experts: tok.experts, weights: tok.weights });
  }
}

/** The CLI's JSON lines: "index" is the token's position in the context. */
export function jsonlLines(blocks: Iterable<RoutingBlock>): Generator<string> {
  return jsonl(exportTokens(blocks));
}

/** JSONL text: lines separated and terminated by "\n" (empty string for no tokens). */
export function toJsonl(blocks: Iterable<RoutingBlock>): string {
  return joinLines(jsonlLines(blocks), '\n');
}

/** The chat's JSONL: "message" and "index" numbered from 1, "index" within the message. */
export function messagesToJsonl(messages: Iterable<MessageRouting>): string {
  return joinLines(jsonl(messageTokens(messages)), '\n');
}

function joinLines(lines: Iterable<string>, end: string): string {
  let out = '';
  for (const line of lines) out += line + end;
  return out;
}

export const CSV_HEADER = 'token_index,token,layer,rank,expert,weight';
/** The chat's CSV: the message (from 1) and the token within it (from 1) first. */
export const MESSAGE_CSV_HEADER = 'message,token_index,token,layer,rank,expert,weight';

/**
 * A text field for CSV. Token texts are model output (untrusted): a cell starting with = + - @, a tab or a CR is
 * run as a formula by spreadsheets, so it gets a leading apostrophe (OWASP's CSV-injection advice). Then quoted per
 * RFC 4180: fields holding a comma, double quote, CR or LF are quoted, quotes doubled. JSONL keeps texts exact.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export interface CsvOptions {
  /** Model layer ids of the routing layers (ProtocolSnapshot.moeLayers); default: the position 0..layers-1. */
  layerIds?: readonly number[];
  header?: boolean;
}

/** CSV rows of tokens (one per token × layer × rank), each prefixed by the token's message when it has one. */
function* csvBody(tokens: Iterable<JsonlToken & { message?: number }>, options: CsvOptions): Generator<string> {
  for (const tok of tokens) {
    const text = csvField(tok.text);
    const first = tok.message !== undefined ? `${tok.message},${tok.index}` : String(tok.index);
    for (let l = 0; l < tok.experts.length; l++) {
      const layer = options.layerIds?.[l] ?? l;
      for (let r = 0; r < tok.experts[l].length; r++) {
        yield `${first},${text},${layer},${r},${tok.experts[l][r]},${tok.weights[l][r]}`;
      }
    }
  }
}

/** CSV rows (without line terminators): header, then one row per token × layer × rank. */
export function* csvRows(blocks: Iterable<RoutingBlock>, options: CsvOptions = {}): Generator<string> {
  if (options.header !== false) yield CSV_HEADER;
  yield* csvBody(exportTokens(blocks), options);
}

/** CSV text with CRLF line breaks (RFC 4180), the last line terminated too. */
export function toCsv(blocks: Iterable<RoutingBlock>, options: CsvOptions = {}): string {
  return joinLines(csvRows(blocks, options), '\r\n');
}

/** The chat's CSV (MESSAGE_CSV_HEADER), CRLF line breaks. */
export function messagesToCsv(messages: Iterable<MessageRouting>, options: CsvOptions = {}): string {
  const rows = function* () {
    if (options.header !== false) yield MESSAGE_CSV_HEADER;
    yield* csvBody(messageTokens(messages), options);
  };
  return joinLines(rows(), '\r\n');
}
