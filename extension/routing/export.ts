// Routing export: JSONL (the CLI's format, one object per token) and CSV (one row per token × layer × rank,
// RFC 4180). Pure: no vscode, no DOM. Weights are written as the shortest decimal that reads back as the
// same float32 (see float32Shortest).

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

/** One JSON line per token: {"index","phase","id","text","experts":[[...] per layer],"weights":[[...]]}. */
export function* jsonlLines(blocks: Iterable<RoutingBlock>): Generator<string> {
  for (const tok of exportTokens(blocks)) {
    yield JSON.stringify({ index: tok.index, phase: tok.phase, id: tok.id, text: tok.text, experts: tok.experts, weights: tok.weights });
  }
}

/** JSONL text: lines separated and terminated by "\n" (empty string for no tokens). */
export function toJsonl(blocks: Iterable<RoutingBlock>): string {
  let out = '';
  for (const line of jsonlLines(blocks)) out += line + '\n';
  return out;
}

export const CSV_HEADER = 'token_index,token,layer,rank,expert,weight';

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

/** CSV rows (without line terminators): header, then one row per token × layer × rank. */
export function* csvRows(blocks: Iterable<RoutingBlock>, options: CsvOptions = {}): Generator<string> {
  if (options.header !== false) yield CSV_HEADER;
  for (const tok of exportTokens(blocks)) {
    const text = csvField(tok.text);
    for (let l = 0; l < tok.experts.length; l++) {
      const layer = options.layerIds?.[l] ?? l;
      for (let r = 0; r < tok.experts[l].length; r++) {
        yield `${tok.index},${text},${layer},${r},${tok.experts[l][r]},${tok.weights[l][r]}`;
      }
    }
  }
}

/** CSV text with CRLF line breaks (RFC 4180), the last line terminated too. */
export function toCsv(blocks: Iterable<RoutingBlock>, options: CsvOptions = {}): string {
  let out = '';
  for (const row of csvRows(blocks, options)) out += row + '\r\n';
  return out;
}
