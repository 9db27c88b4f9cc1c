// Fitting long documents into the context. The prompt must leave room for the answer (reserveTokens, by default the
// answer's maxTokens). Two named strategies:
//  - truncate-middle: LongBench's convention: keep the first and the last half of the document's token budget
//    (tokenize, slice, detokenize) and drop the middle.
//  - map-reduce: split the document into token chunks, summarise each (mapTemplate), then summarise the joined
//    chunk summaries with the variant's template (or reduceTemplate); if the joined summaries are still too long,
//    chunk and summarise them again, up to maxDepth levels, then truncate the middle as a last resort.

import type { Engine, GenerateInput } from '../engine/types';
import type { LongInputConfig, PromptMode, StrategyInfo } from './types';
import { renderTemplate } from './suite';

export const DEFAULT_MAP_TEMPLATE =
  'Summarize the following part of a longer document. Keep the names, numbers and conclusions.\n\n{document}';

export interface PromptShape {
  mode: PromptMode;
  template: string;
  title?: string;
  system?: string;
}

/** Builds the engine input for a prompt template and a document. */
export function buildInput(shape: PromptShape, document: string): GenerateInput {
  const text = renderTemplate(shape.template, { document, title: shape.title });
  if (shape.mode === 'raw') return { kind: 'text', text: shape.system ? `${shape.system}\n\n${text}` : text };
  return {
    kind: 'chat',
    messages: [...(shape.system ? [{ role: 'system' as const, content: shape.system }] : []), { role: 'user' as const, content: text }],
  };
}

export type TokenEngine = Pick<Engine, 'tokenize' | 'detokenize' | 'countTokens'>;

export interface FitOptions {
  contextSize: number;
  /** Answer length of the final generation. */
  maxTokens: number;
  config: LongInputConfig;
  signal?: AbortSignal;
}

/** Generates a short text (a chunk summary); supplied by the runner. */
export type Summarize = (input: GenerateInput, maxTokens: number, signal?: AbortSignal) => Promise<string>;

export interface PreparedInput {
  input: GenerateInput;
  info: StrategyInfo;
  /** map-reduce: the chunk summaries of every level, first level first. */
  partials?: string[][];
}

export class LongInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LongInputError';
  }
}

function budgetOf(options: Pick<FitOptions, 'contextSize' | 'config'>, answerTokens: number): number {
  return options.contextSize - (options.config.reserveTokens ?? answerTokens);
}

/** Tokens the prompt takes besides the document. */
async function overheadTokens(engine: TokenEngine, shape: PromptShape): Promise<number> {
  return engine.countTokens(buildInput(shape, ''));
}

/**
 * Keeps the first and last halves of `allowed` document tokens. Re-checks the rendered prompt (detokenised text can
 * tokenize differently) and shrinks until it fits.
 */
export async function truncateMiddle(
  engine: TokenEngine,
  shape: PromptShape,
  document: string,
  budget: number,
): Promise<{ input: GenerateInput; document: string; documentTokens: number; tokensDropped: number; promptTokens: number }> {
  const ids = await engine.tokenize(document);
  const overhead = await overheadTokens(engine, shape);
  let allowed = budget - overhead;
  if (allowed <= 0) {
    throw new LongInputError(`the prompt template alone takes ${overhead} tokens, more than the ${budget} the context leaves for it`);
  }
  if (ids.length <= allowed) {
    const input = buildInput(shape, document);
    const promptTokens = await engine.countTokens(input);
    if (promptTokens <= budget) return { input, document, documentTokens: ids.length, tokensDropped: 0, promptTokens };
    allowed = Math.max(1, ids.length - (promptTokens - budget));
  }
  for (let attempt = 0; attempt < 6; attempt++) {
    const head = Math.floor(allowed / 2);
    const tail = allowed - head;
    const kept = ids.slice(0, head).concat(tail > 0 ? ids.slice(ids.length - tail) : []);
    const text = await engine.detokenize(kept);
    const input = buildInput(shape, text);
    const promptTokens = await engine.countTokens(input);
    if (promptTokens <= budget) {
      return { input, document: text, documentTokens: ids.length, tokensDropped: ids.length - kept.length, promptTokens };
    }
    allowed -= Math.max(1, promptTokens - budget);
    if (allowed <= 0) break;
  }
  throw new LongInputError('could not fit the document into the context by truncating the middle');
}

/** Splits text (or its tokens) into chunks of at most `size` tokens, consecutive chunks sharing `overlap` tokens. */
export async function chunkByTokens(engine: TokenEngine, text: string | number[], size: number, overlap = 0): Promise<string[]> {
  const ids = typeof text === 'string' ? await engine.tokenize(text) : text;
  const step = Math.max(1, size - Math.min(overlap, size - 1));
  const chunks: string[] = [];
  for (let start = 0; start < ids.length; start += step) {
    chunks.push(await engine.detokenize(ids.slice(start, start + size)));
    if (start + size >= ids.length) break;
  }
  return chunks;
}

/**
 * Makes the final prompt for a document with the configured strategy. `shape.template` is the variant's template.
 * `summarize` is only called by map-reduce.
 */
export async function prepareInput(
  engine: TokenEngine,
  shape: PromptShape,
  document: string,
  options: FitOptions,
  summarize?: Summarize,
): Promise<PreparedInput> {
  const { config } = options;
  const budget = budgetOf(options, options.maxTokens);
  if (budget <= 0) {
    throw new LongInputError(
      `the context (${options.contextSize} tokens) leaves no room for a prompt after reserving ${config.reserveTokens ?? options.maxTokens} for the answer`,
    );
  }
  const whole = buildInput(shape, document);
  const wholeTokens = await engine.countTokens(whole);
  if (wholeTokens <= budget) {
    const documentIds = await engine.tokenize(document);
  const documentTokens = documentIds.length;
    return { input: whole, info: { strategy: 'none', documentTokens, promptTokens: wholeTokens, budgetTokens: budget } };
  }

  if (config.strategy === 'truncate-middle') {
    const t = await truncateMiddle(engine, shape, document, budget);
    return {
      input: t.input,
      info: {
        strategy: 'truncate-middle',
        documentTokens: t.documentTokens,
        promptTokens: t.promptTokens,
        budgetTokens: budget,
        tokensDropped: t.tokensDropped,
      },
    };
  }

  if (config.strategy !== 'map-reduce') throw new LongInputError(`unknown long-input strategy "${String(config.strategy)}"`);
  if (!summarize) throw new LongInputError('map-reduce needs a summarize function');

  const mapShape: PromptShape = { ...shape, template: config.mapTemplate ?? DEFAULT_MAP_TEMPLATE };
  const reduceShape: PromptShape = { ...shape, template: config.reduceTemplate ?? shape.template };
  const mapAnswer = config.mapMaxTokens ?? options.maxTokens;
  const mapBudget = budgetOf({ contextSize: options.contextSize, config: { ...config, reserveTokens: undefined } }, mapAnswer);
  const mapRoom = mapBudget - (await overheadTokens(engine, mapShape));
  if (mapRoom < 16) throw new LongInputError('the map template and mapMaxTokens leave no room for a chunk in the context');
  const chunkTokens = Math.min(config.chunkTokens ?? mapRoom, mapRoom);
  const documentIds = await engine.tokenize(document);
  const documentTokens = documentIds.length;

  const partials: string[][] = [];
  let text = document;
  let calls = 0;
  let merged = 0;
  let level = 0;
  let tokensDropped: number | undefined;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    const input = buildInput(level === 0 ? shape : reduceShape, text);
    const promptTokens = await engine.countTokens(input);
    if (promptTokens <= budget) {
      return {
        input,
        partials,
        info: {
          strategy: 'map-reduce',
          documentTokens,
          promptTokens,
          budgetTokens: budget,
          chunks: partials[0]?.length ?? 0,
          chunksMerged: merged,
          levels: level,
          calls: calls + 1,
          ...(tokensDropped !== undefined ? { tokensDropped } : {}),
        },
      };
    }
    if (level >= config.maxDepth) {
      // Still too long after maxDepth levels: cut the middle of the joined summaries.
      const t = await truncateMiddle(engine, reduceShape, text, budget);
      tokensDropped = t.tokensDropped;
      text = t.document;
      continue;
    }
    const chunks = await chunkByTokens(engine, text === document ? documentIds : text, chunkTokens, config.chunkOverlap);
    const summaries: string[] = [];
    for (const chunk of chunks) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      summaries.push((await summarize(buildInput(mapShape, chunk), mapAnswer, options.signal)).trim());
      calls++;
    }
    partials.push(summaries);
    merged += summaries.length;
    text = summaries.join('\n\n');
    level++;
  }
}
