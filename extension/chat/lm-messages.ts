// VS Code's own chat and `vscode.lm` callers, without the vscode module: their messages and `modelOptions` in the
// engine's terms, the model as the chat's model picker lists it, the record of every request served (shown in the
// lens), and the `@moe /experts` explanation from a recorded answer's routing.
import type { ChatMessage, ModelInfo, SamplingOptions, TokenFrame } from '../engine/types';
import { EngineError } from '../engine/errors';
import type { ChatTurn, RoutingBlock } from '../protocol';
import type { GenerationPrompt } from './generation';
import { frameToBlock } from './batcher';
import { compactRouting } from './codec';
import { RoutingAggregator } from '../routing/aggregate';
import { formatCount, formatPercent } from '../format';

/** The provider's vendor (package.json `languageModelChatProviders`); callers select models with it. */
export const LM_VENDOR = 'moe-lens';

/** Said to a caller when the sidebar or another request is generating (one generation at a time). */
export const LM_BUSY = 'MoE Lens is answering another request (its sidebar chat or VS Code chat); send this again when it has finished.';

/** A caller's message: its text, the role VS Code gave it, and its tool calls (assistant) or tool results (user). */
export interface LmMessage {
  role: 'user' | 'assistant' | 'system';
  text: string;
  toolCalls?: { callId: string; name: string; input: Record<string, unknown> }[];
  toolResults?: { callId: string; text: string }[];
}

/**
 * The caller's messages as the generation runner's prompt: system messages joined into one, consecutive messages
 * of one role joined (templates expect turns to alternate), tool results attached to the assistant's calls they
 * answer (by call id). The last user message is the one answered, or, when the assistant's tool calls have all been
 * answered since, the assistant's turn is continued. Throws an `EngineError` in words when there is nothing to answer.
 */
export function toGenerationPrompt(messages: readonly LmMessage[]): GenerationPrompt {
  const system = messages.filter((m) => m.role === 'system' && m.text.trim()).map((m) => m.text);
  const turns: ChatMessage[] = [];
  const calls = new Map<string, NonNullable<ChatMessage['toolCalls']>[number]>();
  const answered = new Set<string>();
  const push = (role: 'user' | 'assistant', text: string, toolCalls?: ChatMessage['toolCalls']) => {
    const prev = turns[turns.length - 1];
    if (prev?.role === role) {
      if (text) prev.content = prev.content ? `${prev.content}\n\n${text}` : text;
      if (toolCalls?.length) prev.toolCalls = [...(prev.toolCalls ?? []), ...toolCalls];
    } else turns.push({ role, content: text, ...(toolCalls?.length ? { toolCalls } : {}) });
  };
  for (const m of messages) {
    if (m.role === 'system') continue;
    const text = m.text.trim() ? m.text : '';
    if (m.role === 'assistant') {
      const toolCalls = (m.toolCalls ?? []).map((c) => {
        const call = { name: c.name, input: c.input, result: '' };
        calls.set(c.callId, call);
        return call;
      });
      if (text || toolCalls.length) push('assistant', text, toolCalls);
      continue;
    }
    for (const r of m.toolResults ?? []) {
      const call = calls.get(r.callId);
      if (!call) throw new EngineError('internal', `A tool result answers the call ${JSON.stringify(r.callId)}, which no earlier assistant message made.`);
      call.result = r.text;
      answered.add(r.callId);
    }
    if (text) push('user', text);
  }
  const last = turns[turns.length - 1];
  // Results came back for all the assistant's tool calls: its turn goes on after them.
  const continues = last?.role === 'assistant' && !!last.toolCalls?.length && [...calls.keys()].every((id) => answered.has(id)) && turns.some((t) => t.role === 'user');
  const message = turns.pop();
  if (!message || (message.role !== 'user' && !continues)) throw new EngineError('internal', 'The request has no user message to answer (its last message with text must be the user’s).');
  return { ...(system.length ? { system: { role: 'system', content: system.join('\n\n') } } : {}), history: turns, message };
}

/**
 * `modelOptions` in sampling terms: temperature, maxTokens (or max_tokens), topP (top_p), topK (top_k), seed, stop,
 * repeatPenalty (repeat_penalty). Anything else is ignored; a known option of the wrong kind is refused in words.
 */
export function samplingFromModelOptions(options: Readonly<Record<string, unknown>> | undefined): Partial<SamplingOptions> {
  const o = options ?? {};
  const pick = (...names: string[]) => names.map((n) => o[n]).find((v) => v !== undefined && v !== null);
  const out: Partial<SamplingOptions> = {};
  const number = (name: keyof SamplingOptions, value: unknown, ok: (x: number) => boolean, what: string) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) throw new EngineError('internal', `modelOptions.${name} must be ${what} (got ${JSON.stringify(value)}).`);
    (out as Record<string, number>)[name] = value;
  };
  number('temperature', pick('temperature'), (x) => x >= 0, 'a number ≥ 0');
  number('maxTokens', pick('maxTokens', 'max_tokens'), (x) => Number.isInteger(x) && x > 0, 'a whole number > 0');
  number('topP', pick('topP', 'top_p'), (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  number('topK', pick('topK', 'top_k'), (x) => Number.isInteger(x) && x >= 0, 'a whole number ≥ 0');
  number('seed', pick('seed'), (x) => Number.isInteger(x) && x >= 0, 'a whole number ≥ 0');
  number('repeatPenalty', pick('repeatPenalty', 'repeat_penalty'), (x) => x > 0, 'a number > 0');
  const stop = pick('stop');
  if (stop !== undefined) {
    const list = typeof stop === 'string' ? [stop] : stop;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) throw new EngineError('internal', `modelOptions.stop must be a string or a list of strings (got ${JSON.stringify(stop)}).`);
    out.stop = list.filter((s) => s.length > 0);
  }
  return out;
}

/** What the chat's model picker shows for the model MoE Lens uses (fields of `vscode.LanguageModelChatInformation`). */
export interface LmModelInformation {
  id: string;
  name: string;
  family: string;
  version: string;
  tooltip: string;
  detail: string;
  maxInputTokens: number;
  maxOutputTokens: number;
  capabilities: { toolCalling: boolean; imageInput: boolean };
}

/** A request's answer may take at most half the context; the prompt gets the rest. */
export function lmModelInformation(info: ModelInfo): LmModelInformation {
  const where = info.remote ? `served by ${info.remote.server} at ${info.remote.endpoint}` : info.placement ? `runs here on ${info.placement.backend.toUpperCase()}` : 'runs here';
  const experts = info.routing?.experts ? `${formatCount(info.routing.experts)} experts, ${info.routing.expertsPerToken} per token, in ${info.routing.moeLayers.length} layers` : 'no expert facts';
  const maxOutputTokens = Math.max(1, Math.floor(info.contextSize / 2));
  return {
    id: info.remote ? 'server' : 'local',
    name: info.name,
    family: info.architecture || 'unknown',
    version: info.remote?.model ?? info.name,
    tooltip: `${info.name} (MoE Lens): ${info.architecture}, ${experts}; ${where}. Context ${formatCount(info.contextSize)} tokens.${info.continuesText ? ' It continues text rather than following instructions.' : ''}`,
    detail: info.remote ? 'MoE Lens · server' : 'MoE Lens · local',
    maxInputTokens: Math.max(1, info.contextSize - maxOutputTokens),
    maxOutputTokens,
    // Tools reach the local model's chat template (its function-calling syntax); a server's model gets text only.
    capabilities: { toolCalling: !info.remote, imageInput: false },
  };
}

/** One request served to VS Code's chat or another extension, kept for the lens (newest last). */
export interface LmRequestRecord {
  id: string;
  /** The extension that asked (VS Code's `requestInitiator`: an extension id, or `core` for the chat itself). */
  caller: string;
  startedAt: number;
  /** The question (its prompt routing once answered) and the answer with its routing, as chat turns. */
  user: ChatTurn;
  assistant: ChatTurn;
}

export interface LmRequestSummary {
  id: string;
  caller: string;
  startedAt: number;
  promptTokens?: number;
  generatedTokens?: number;
  status: ChatTurn['status'];
  /** The assistant turn the lens opens. */
  turnId: string;
}

/**
 * The requests served, newest last, at most `limit` (the oldest go). `start` gives the turns the frames of one
 * generation go into; the record is complete when `finish` or `fail` is called.
 */
export class LmRequestLog {
  private readonly records: LmRequestRecord[] = [];
  private counter = 0;

  constructor(private readonly limit = 50) {}

  start(caller: string, question: string, startedAt = Date.now()): LmRequestRecord {
    const id = `lm${startedAt.toString(36)}${(this.counter++).toString(36)}`;
    const display = question.length > 400 ? `${question.slice(0, 400)}…` : question;
    const record: LmRequestRecord = {
      id,
      caller,
      startedAt,
      user: { id: `${id}u`, role: 'user', display, content: question, status: 'complete', routing: [], notes: [`From VS Code chat: ${caller}, ${new Date(startedAt).toLocaleTimeString()}`] },
      assistant: { id: `${id}a`, role: 'assistant', display: '', content: '', status: 'streaming', routing: [] },
    };
    this.records.push(record);
    if (this.records.length > this.limit) this.records.splice(0, this.records.length - this.limit);
    return record;
  }

  /** A frame of the record's generation: prompt routing to the question, text and routing to the answer. */
  static addFrame(record: LmRequestRecord, frame: TokenFrame): void {
    const target = frame.phase === 'prompt' ? record.user : record.assistant;
    if (frame.ids.length && frame.experts.length) target.routing.push(frameToBlock(frame));
    if (frame.phase !== 'prompt' && frame.textDelta) {
      record.assistant.content += frame.textDelta;
      record.assistant.display = record.assistant.content;
    }
  }

  static finish(record: LmRequestRecord, status: 'complete' | 'stopped', stats: ChatTurn['stats'], text?: string): void {
    if (text !== undefined && text.length >= record.assistant.content.length) record.assistant.content = record.assistant.display = text;
    record.assistant.status = status;
    if (stats) record.assistant.stats = stats;
    LmRequestLog.compact(record);
  }

  static fail(record: LmRequestRecord, message: string): void {
    record.assistant.status = 'error';
    record.assistant.error = message;
    LmRequestLog.compact(record);
  }

  private static compact(record: LmRequestRecord): void {
    record.user.routing = compactRouting(record.user.routing);
    record.assistant.routing = compactRouting(record.assistant.routing);
  }

  get(id: string): LmRequestRecord | undefined {
    return this.records.find((r) => r.id === id || r.assistant.id === id);
  }

  /** The newest answered request, if any. */
  last(): LmRequestRecord | undefined {
    return this.records[this.records.length - 1];
  }

  list(): LmRequestSummary[] {
    return this.records.map((r) => ({
      id: r.id,
      caller: r.caller,
      startedAt: r.startedAt,
      promptTokens: r.assistant.stats?.promptTokens,
      generatedTokens: r.assistant.stats?.generatedTokens,
      status: r.assistant.status,
      turnId: r.assistant.id,
    }));
  }

  /** Every recorded turn, question then answer, oldest first (the lens's conversation). */
  turns(): ChatTurn[] {
    return this.records.flatMap((r) => [r.user, r.assistant]);
  }
}

/** One line of the requests list: caller, time, tokens. */
export function describeLmRequest(s: LmRequestSummary): string {
  const tokens = s.generatedTokens !== undefined ? `${formatCount(s.promptTokens ?? 0)} prompt → ${formatCount(s.generatedTokens)} generated tokens` : s.status;
  return `${s.caller} · ${new Date(s.startedAt).toLocaleTimeString()} · ${tokens}`;
}

/**
 * The experts an answer used most per layer, from its recorded routing, as markdown: per MoE layer the `top`
 * experts by how many of the answer's tokens chose them (any rank) and their share of those tokens.
 */
export function expertsMarkdown(routing: readonly RoutingBlock[], moeLayers: readonly number[], experts: number, top = 3): string {
  const generated = routing.filter((b) => b.phase !== 'prompt');
  const aggregator = new RoutingAggregator({ experts });
  for (const b of generated) aggregator.add(b);
  const s = aggregator.summary();
  if (!s.tokens) return 'The last answer has no recorded routing (routing capture is off, or the model is dense or served without routing).';
  const lines = [`Experts the last answer used most (${formatCount(s.tokens)} tokens, top ${s.k} of ${s.experts} per token):`, '', '| Layer | Most used experts (share of tokens) |', '|---:|---|'];
  for (const layer of s.perLayer) {
    const ranked = layer.topk
      .map((count, expert) => ({ expert, count }))
      .filter((e) => e.count > 0)
      .sort((a, b) => b.count - a.count || a.expert - b.expert)
      .slice(0, top);
    lines.push(`| ${moeLayers[layer.layer] ?? layer.layer} | ${ranked.map((e) => `#${e.expert} (${formatPercent(e.count / s.tokens)})`).join(', ')} |`);
  }
  return lines.join('\n');
}
