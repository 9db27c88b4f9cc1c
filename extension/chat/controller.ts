// The chat: conversation state, one generation at a time, streaming to the webview, persistence.
// vscode-free: the VS Code adapter passes a `post` function, a store and a settings getter.
import type { ChatMessage, Engine, ModelInfo, SamplingOptions, TokenFrame } from '../engine/types';
import { isAbort, isEngineError } from '../engine/errors';
import { PROTOCOL_VERSION, type ChatTurn, type HostToWebview, type RoutingBlock, type Snapshot, type WhatIfAction, type WhatIfState } from '../protocol';
import { answerOf, firstDifference, interventionFor, keptAnswer, turnAnswer, whatIfLabel } from './what-if';
import { FrameBatcher, frameToBlock, type Timers } from './batcher';
import { compactRouting, decodeConversation, encodeConversation } from './codec';
import { ContextOverflow, isTrimmedHistoryNote, promptBudget, trimmedHistoryNote } from './context';
import { Emitter, type Log } from './events';
import { DEMO_MODEL_LABEL } from '../engine/demo-model';
import { resolveSampling } from '../engine/sampling';
import { attributePromptTokens } from './attribution';
import type { ConversationHistory } from './history';
import type { ModelSession } from './session';
import { GenerationRunner, type GenerationPrompt } from './generation';
import { CONTEXT_FULL, STOPPED, STOPPED_WHILE_LOADING, contextOverflowMessage, describeError, errorActionsFor, maxTokensReached } from '../messages';
import { buildSummarizePrompt, normalizeSelection, summarizeLabel, type SelectionInput } from './summarize';

export interface ChatSettings {
  systemPrompt: string;
  /** What the user set; the rest fits the loaded model (`resolveSampling`). */
  sampling: Partial<SamplingOptions>;
  captureRouting: boolean;
}

export interface ConversationStore {
  load(): unknown;
  save(data: unknown): PromiseLike<void> | void;
}

export interface ChatControllerOptions {
  engine: Engine;
  session: ModelSession;
  settings: () => ChatSettings;
  post: (message: HostToWebview) => void;
  store?: ConversationStore;
  /** Where New chat keeps the conversation it replaces (and where past ones are reopened from). */
  history?: ConversationHistory;
  log?: Log;
  flushIntervalMs?: number;
  timers?: Timers;
  /** Minimum time between saves while an answer streams. */
  saveIntervalMs?: number;
  newId?: () => string;
}

export interface TurnFinished {
  turn: ChatTurn;
  tokensPerSecond?: number;
}


let idCounter = 0;
const defaultId = () => `t${Date.now().toString(36)}${(idCounter++).toString(36)}`;

export class ChatController {
  private turns: ChatTurn[];
  /** One generation at a time: VS Code chat's requests (vscode/lm-provider.ts) run on it too. */
  readonly runner: GenerationRunner;
  /** The assistant turn being answered or regenerated (Stop's note goes there). */
  private activeTurnId: string | undefined;
  private readonly batcher: FrameBatcher;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSave = 0;
  private disposed = false;
  private readonly finished = new Emitter<TurnFinished>();
  readonly onDidFinishTurn = this.finished.event;
  private readonly newId: () => string;
  private readonly log: Log;
  private readonly subscriptions: { dispose(): void }[] = [];
  /** Selections of summarize turns, so Retry rebuilds (and re-trims) their prompt. */
  private readonly summaries = new Map<string, SelectionInput>();
  /** Identifies the open conversation in the history. */
  private conversationId: string;
  /** The last what-if results, for Keep this answer. */
  private readonly whatIfs = new Map<string, WhatIfState>();

  constructor(private readonly o: ChatControllerOptions) {
    this.runner = new GenerationRunner(o.engine, o.session);
    this.newId = o.newId ?? defaultId;
    this.conversationId = this.newId();
    this.log = o.log ?? (() => {});
    this.batcher = new FrameBatcher((m) => this.safePost(m), o.flushIntervalMs, o.timers);
    let restored: ChatTurn[] = [];
    try {
      restored = decodeConversation(o.store?.load());
    } catch (error) {
      this.log('warn', `Could not restore the conversation: ${describeError(error)}`);
    }
    this.turns = restored;
    this.subscriptions.push(o.session.onDidChange(() => this.postModelState()));
  }

  get isBusy(): boolean {
    return this.runner.phase !== undefined;
  }

  get conversation(): readonly ChatTurn[] {
    return this.turns;
  }

  snapshot(): Snapshot {
    const summary = this.o.session.summary(this.o.settings().captureRouting);
    return {
      protocolVersion: PROTOCOL_VERSION,
      turns: this.turns,
      model: summary,
      moeLayers: summary.info?.routing?.moeLayers ?? [],
    };
  }

  postSnapshot(): void {
    this.safePost({ type: 'snapshot', snapshot: this.snapshot() });
  }

  postModelState(): void {
    this.safePost({ type: 'model.state', model: this.o.session.summary(this.o.settings().captureRouting) });
  }

  private safePost(message: HostToWebview): void {
    if (this.disposed) return;
    try {
      this.o.post(message);
    } catch (error) {
      this.log('warn', `Posting ${message.type} failed: ${describeError(error)}`);
    }
  }

  private turn(id: string): ChatTurn | undefined {
    return this.turns.find((t) => t.id === id);
  }

  private addTurn(turn: ChatTurn): void {
    this.turns.push(turn);
    this.safePost({ type: 'chat.turnAdded', turn });
  }

  private updated(turn: ChatTurn): void {
    const { routing: _routing, ...rest } = turn;
    this.safePost({ type: 'chat.turnUpdated', turn: rest });
  }

  /** Sends a user message. Returns the assistant turn id. */
  async send(text: string, extra?: { display?: string; notes?: string[] }): Promise<string | undefined> {
    const content = text.trim();
    if (!content) return undefined;
    const user: ChatTurn = {
      id: this.newId(),
      role: 'user',
      display: extra?.display ?? content,
      content,
      status: 'complete',
      routing: [],
      ...(extra?.notes?.length ? { notes: [...extra.notes] } : {}),
    };
    this.addTurn(user);
    return this.answer(user);
  }

  /**
   * Summarizes an editor selection into the chat; the selection is cut to fit the context if needed, and a
   * conversation that cannot hold it as well goes to the history (the summary starts a new one).
   */
  async summarize(selection: SelectionInput): Promise<string | undefined> {
    const { code, totalLines } = normalizeSelection(selection.code);
    const user: ChatTurn = {
      id: this.newId(),
      role: 'user',
      display: summarizeLabel(selection, totalLines, totalLines),
      content: code,
      source: { fileName: selection.fileName, languageId: selection.languageId, startLine: selection.startLine, endLine: selection.startLine + totalLines - 1, code },
      status: 'complete',
      routing: [],
    };
    this.addTurn(user);
    this.summaries.set(user.id, selection);
    // The code's routing and the answer's stream into the open lens, coloured by expert.
    this.safePost({ type: 'lens.show', turnId: user.id });
    // The prompt is built once the model is loaded (its tokenizer and context size decide the trimming).
    return this.answer(user, this.summarizePreparer(user, selection));
  }

  private summarizePreparer(user: ChatTurn, selection: SelectionInput) {
    return async (info: ModelInfo) => {
      const s = this.o.settings();
      const budget = promptBudget(info.contextSize, resolveSampling(s.sampling, info).maxTokens);
      const system = this.systemMessage(s);
      const continues = info.continuesText ? { modelLabel: this.o.session.summary(false).label } : undefined;
      const prompt = await buildSummarizePrompt(selection, system, budget, this.runner.countTokens, continues);
      user.content = prompt.content;
      user.display = prompt.display;
      user.notes = prompt.notes.length ? [...prompt.notes] : undefined;
      if (user.source) user.source = { ...user.source, code: prompt.code };
      const history = this.historyBefore(user);
      if (history.length && (await this.runner.countTokens([...(system ? [system] : []), ...history, { role: 'user', content: prompt.content }])) > budget) {
        this.moveToNewChat(user);
        this.addNote(user, 'New chat: the conversation before could not hold this selection too; it is kept in the history.');
      }
      this.updated(user);
    };
  }

  /** Keeps `turns` in the history as the open conversation; what follows is a new conversation. */
  private keepInHistory(turns: ChatTurn[]): void {
    void this.o.history?.add(turns, this.conversationId).catch((error: unknown) => this.log('warn', `Keeping the conversation failed: ${describeError(error)}`));
    this.conversationId = this.newId();
  }

  /** The turns from `first` on become a new conversation; the ones before go to the history. */
  private moveToNewChat(first: ChatTurn): void {
    const at = this.turns.indexOf(first);
    if (at <= 0) return;
    this.keepInHistory(this.turns.slice(0, at));
    this.turns = this.turns.slice(at);
    this.postSnapshot();
  }

  private newAssistant(): ChatTurn {
    return { id: this.newId(), role: 'assistant', display: '', content: '', status: 'streaming', routing: [] };
  }

  private systemMessage(s: ChatSettings): ChatMessage | undefined {
    return s.systemPrompt.trim() ? { role: 'system', content: s.systemPrompt } : undefined;
  }

  /** The conversation up to `user`, answering it. */
  private promptFor(user: ChatTurn, s: ChatSettings): GenerationPrompt {
    return { system: this.systemMessage(s), history: this.historyBefore(user), message: { role: 'user', content: user.content } };
  }

  /** History before `user` as messages: complete/stopped turns with content; errors are left out. */
  private historyBefore(user: ChatTurn): ChatMessage[] {
    const out: ChatMessage[] = [];
    for (const t of this.turns) {
      if (t === user) break;
      if (t.role === 'system') continue;
      if (t.status === 'error' || !t.content) continue;
      out.push({ role: t.role, content: t.content });
    }
    // Keep alternation sane: drop a user message that got no usable answer.
    const cleaned: ChatMessage[] = [];
    for (const m of out) {
      const prev = cleaned[cleaned.length - 1];
      if (prev && prev.role === 'user' && m.role === 'user') cleaned.pop();
      cleaned.push(m);
    }
    if (cleaned.length && cleaned[cleaned.length - 1].role === 'user') cleaned.pop();
    return cleaned;
  }

  private async answer(user: ChatTurn, prepare?: (info: ModelInfo) => Promise<void>): Promise<string | undefined> {
    const assistant = this.newAssistant();
    const busy = this.runner.busyMessage;
    if (busy) {
      assistant.status = 'error';
      assistant.error = busy;
      this.addTurn(assistant);
      this.scheduleSave(true);
      return assistant.id;
    }
    this.addTurn(assistant);
    this.activeTurnId = assistant.id;
    const s = this.o.settings();
    let sawGenerated = false;
    let generationStarted = false;
    // What the user waits for: Send → first generated token in the host, the model load included.
    const sentAt = Date.now();
    let firstTokenAt: number | undefined;
    /** The messages the prompt was rendered from, to tell the user's own tokens from the template's. */
    let rendered: ChatMessage[] | undefined;
    try {
      const { result, sampling, stopped, modelLoadMs } = await this.runner.run({
        prompt: async (info) => {
          if (prepare) await prepare(info);
          return this.promptFor(user, s);
        },
        sampling: s.sampling,
        captureRouting: s.captureRouting,
        beforeGenerate: ({ info, sampling, budget, fit }) => {
          rendered = fit.messages;
          // What the model reads, in one line (the e2e test checks that a third answer still reads the first message).
          const opening = fit.messages.find((m) => m.role !== 'system')?.content.replace(/\s+/g, ' ').slice(0, 60) ?? '';
          this.log('info', `Prompt: ${fit.messages.length} messages, ${fit.promptTokens} of ${budget} tokens (answer up to ${sampling.maxTokens}), ${fit.droppedMessages} earlier left out; it starts "${opening}"`);
          const notes = (user.notes ?? []).filter((n) => !isTrimmedHistoryNote(n));
          if (fit.droppedMessages > 0) notes.push(trimmedHistoryNote(fit.droppedMessages, info.contextSize));
          if (notes.length !== (user.notes ?? []).length || fit.droppedMessages > 0) {
            user.notes = notes;
            this.updated(user);
          }
          if (this.o.session.isDemo && !this.turns.some((t) => t.notes?.some((n) => n.includes(DEMO_MODEL_LABEL)))) {
            assistant.notes = [`Answered by the ${DEMO_MODEL_LABEL}.`];
            this.updated(assistant);
          }
          // Routing of this user turn is re-recorded on every (re)generation (retry() cleared the old one).
          if (user.routing.length) user.routing = [];
          generationStarted = true;
          assistant.seed = sampling.seed;
        },
        onFrame: (frame: TokenFrame) => {
          const isPrompt = frame.phase === 'prompt';
          const target = isPrompt ? user : assistant;
          const block = frame.ids.length && frame.experts.length ? frameToBlock(frame) : undefined;
          if (block) target.routing.push(block); // compacted when the answer ends
          if (!isPrompt) {
            sawGenerated = true;
            firstTokenAt ??= Date.now();
            if (frame.textDelta) {
              assistant.content += frame.textDelta;
              assistant.display = assistant.content;
            }
          }
          this.batcher.push(target.id, isPrompt ? '' : frame.textDelta, block);
          this.scheduleSave(false);
        },
      });
      this.batcher.flush();
      if (typeof result.text === 'string' && (result.text.length >= assistant.content.length || !sawGenerated)) {
        assistant.content = result.text;
        assistant.display = result.text;
      }
      assistant.status = stopped ? 'stopped' : 'complete';
      assistant.stats = {
        promptTokens: result.promptTokens,
        generatedTokens: result.generatedTokens,
        promptTokensPerSecond: result.promptTokensPerSecond,
        generatedTokensPerSecond: result.generatedTokensPerSecond,
        timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - sentAt : result.timeToFirstTokenMs,
        ...(modelLoadMs !== undefined ? { modelLoadMs } : {}),
        stopReason: result.stopReason,
      };
      if (result.stopReason === 'context-full') this.addNote(assistant, CONTEXT_FULL);
      if (result.stopReason === 'max-tokens') this.addNote(assistant, maxTokensReached(sampling.maxTokens));
      this.o.session.clearError();
    } catch (error) {
      this.batcher.flush();
      if (isAbort(error)) {
        assistant.status = 'stopped';
        if (!generationStarted) this.addNote(assistant, STOPPED_WHILE_LOADING);
      } else {
        assistant.status = 'error';
        assistant.error = error instanceof ContextOverflow ? contextOverflowMessage(error) : describeError(error);
        assistant.errorActions = errorActionsFor(error);
        if (isEngineError(error, 'engine-crashed')) this.o.session.markCrashed(assistant.error);
        this.log('error', `Turn failed: ${assistant.error}`);
      }
    } finally {
      user.routing = compactRouting(user.routing);
      assistant.routing = compactRouting(assistant.routing);
      if (rendered && user.routing.length) {
        user.promptSegments = attributePromptTokens(user.routing.flatMap((b) => b.texts), rendered);
        this.updated(user);
      } else if (user.promptSegments) user.promptSegments = undefined;
      if (this.activeTurnId === assistant.id) this.activeTurnId = undefined;
      this.updated(assistant);
      this.scheduleSave(true);
      this.finished.fire({ turn: assistant, tokensPerSecond: assistant.stats?.generatedTokensPerSecond });
    }
    return assistant.id;
  }

  private addNote(turn: ChatTurn, note: string): void {
    turn.notes = [...(turn.notes ?? []), note];
  }

  /** Stops the answer being generated (or the model load it waits for). */
  stop(note?: string): boolean {
    const assistant = this.activeTurnId ? this.turn(this.activeTurnId) : undefined;
    if (!this.runner.stop()) return false;
    if (assistant && note) this.addNote(assistant, note);
    return true;
  }

  /**
   * Model settings changed: the next answer loads the new model. An answer being generated finishes with
   * the old one; a turn still waiting for the old model's load is stopped with a note (Retry uses the new one).
   */
  modelChanged(): void {
    if (this.runner.phase === 'loading') this.stop('The model setting changed while loading; press Retry to use the new model.');
    this.o.session.invalidate();
  }

  /** Regenerates the answer of a user turn (or of the user turn before an assistant turn). */
  async retry(turnId: string): Promise<string | undefined> {
    if (this.isBusy) return undefined;
    const index = this.turns.findIndex((t) => t.id === turnId);
    if (index < 0) return undefined;
    let userIndex = index;
    while (userIndex >= 0 && this.turns[userIndex].role !== 'user') userIndex--;
    if (userIndex < 0) return undefined;
    const user = this.turns[userIndex];
    // Everything after the user turn is replaced by the new answer; its prompt routing is recorded again,
    // so the snapshot must not carry the old one (the new prompt frames are appended to it in the webview).
    this.turns = this.turns.slice(0, userIndex + 1);
    user.routing = [];
    this.postSnapshot();
    const selection = this.summaries.get(user.id);
    return this.answer(user, selection ? this.summarizePreparer(user, selection) : undefined);
  }

  /**
   * Regenerates an assistant turn (or the answer after a user turn) with the same messages and sampling (same seed)
   * under an intervention on one expert, and posts both answers for the lens to show side by side. The conversation
   * itself is unchanged. Stop cancels it like an answer.
   */
  async whatIf(turnId: string, layer: number, expert: number, action: WhatIfAction): Promise<WhatIfState | undefined> {
    let a = this.turns.findIndex((t) => t.id === turnId);
    if (a < 0) return undefined;
    while (a < this.turns.length && this.turns[a].role !== 'assistant') a++;
    const assistant = this.turns[a];
    let u = a;
    while (u >= 0 && this.turns[u]?.role !== 'user') u--;
    const user = this.turns[u];
    if (!assistant || !user) return undefined;
    const state: WhatIfState = {
      id: this.newId(),
      turnId: assistant.id,
      action,
      layer,
      expert,
      label: whatIfLabel(action, layer, expert),
      status: 'running',
      original: turnAnswer(assistant),
    };
    const post = () => this.safePost({ type: 'lens.whatIf', whatIf: { ...state } });
    const busy = this.runner.busyMessage;
    if (busy) {
      state.status = 'error';
      state.error = busy;
      post();
      return state;
    }
    post();
    this.activeTurnId = assistant.id;
    const s = this.o.settings();
    const blocks: RoutingBlock[] = [];
    try {
      const { result, stopped } = await this.runner.run({
        prompt: () => this.promptFor(user, s),
        sampling: s.sampling,
        // The seed the answer was generated with (the setting's default draws a new one for every answer).
        seed: assistant.seed,
        captureRouting: true,
        reuseCache: false,
        intervention: interventionFor(action, layer, expert),
        onFrame: (frame) => {
          if (frame.phase === 'generated' && frame.ids.length && frame.experts.length) blocks.push(frameToBlock(frame));
        },
      });
      state.variant = answerOf(result.text, compactRouting(blocks));
      state.status = stopped ? 'error' : 'complete';
      if (stopped) state.error = STOPPED;
      state.firstDifference = state.original.ids.length
        ? firstDifference(state.original.ids, state.variant.ids)
        : state.original.text === state.variant.text ? null : 0;
    } catch (error) {
      state.status = 'error';
      state.error = isAbort(error) ? STOPPED : describeError(error);
    } finally {
      if (this.activeTurnId === assistant.id) this.activeTurnId = undefined;
    }
    post();
    this.whatIfs.set(state.id, state);
    if (this.whatIfs.size > 8) this.whatIfs.delete(this.whatIfs.keys().next().value!);
    return state;
  }

  /** Keep this answer: a completed what-if's answer replaces the turn it regenerated, saved like any answer. */
  keepWhatIf(id: string): boolean {
    const w = this.whatIfs.get(id);
    const i = w ? this.turns.findIndex((t) => t.id === w.turnId) : -1;
    const kept = w && i >= 0 && !this.isBusy ? keptAnswer(this.turns[i], w) : undefined;
    if (!kept) return false;
    this.turns[i] = kept;
    this.whatIfs.delete(id);
    this.safePost({ type: 'chat.turnAdded', turn: kept });
    this.scheduleSave(true);
    return true;
  }

  /** Starts over; the conversation so far is kept in the history, to reopen. */
  newChat(): void {
    this.stop();
    this.keepInHistory(this.turns);
    this.turns = [];
    this.summaries.clear();
    this.postSnapshot();
    this.scheduleSave(true);
  }

  /** Replaces the conversation with a past one (the current one goes into the history). False when it is gone. */
  async openPast(id: string): Promise<boolean> {
    this.stop();
    const turns = await this.o.history?.take(id);
    if (!turns) return false;
    await this.o.history?.add(this.turns, this.conversationId);
    this.conversationId = id;
    this.turns = turns;
    this.summaries.clear();
    this.postSnapshot();
    this.scheduleSave(true);
    return true;
  }

  private scheduleSave(now: boolean): void {
    if (!this.o.store || this.disposed) return;
    const interval = this.o.saveIntervalMs ?? 1000;
    if (now) {
      if (this.saveTimer) clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      void this.save();
      return;
    }
    if (this.saveTimer) return;
    const wait = Math.max(0, interval - (Date.now() - this.lastSave));
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save();
    }, wait);
  }

  async save(): Promise<void> {
    if (!this.o.store) return;
    this.lastSave = Date.now();
    try {
      await this.o.store.save(encodeConversation(this.turns));
    } catch (error) {
      this.log('warn', `Saving the conversation failed: ${describeError(error)}`);
    }
  }

  /** Stops any answer, saves the conversation, and releases timers. */
  async dispose(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.batcher.flush();
    await this.save();
    this.disposed = true;
    this.runner.stop();
    this.batcher.dispose();
    this.finished.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
