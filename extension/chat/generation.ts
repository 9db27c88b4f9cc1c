// One generation at a time on a model session: load → fit the conversation into the context → generate, with Stop
// and the busy wording. The chat's answers, its what-ifs (and any other chat surface) run through it. No vscode import.
import type { ChatMessage, Engine, GenerateRequest, GenerationResult, ModelInfo, SamplingOptions, TokenFrame } from '../engine/types';
import { EngineError, isAbort } from '../engine/errors';
import { resolveSampling } from '../engine/sampling';
import { fitConversation, promptBudget, type CountTokens, type FitResult } from './context';
import type { ModelSession } from './session';
import { BUSY_GENERATING, BUSY_LOADING, STOPPED } from '../messages';

export type GenerationPhase = 'loading' | 'generating';

/** The conversation to answer: the last message is the one answered; history is cut from the oldest to fit. */
export interface GenerationPrompt {
  system?: ChatMessage;
  history: ChatMessage[];
  message: ChatMessage;
}

/** What the prompt was fitted to, passed to `GenerationJob.beforeGenerate`. */
export interface FittedPrompt {
  info: ModelInfo;
  sampling: SamplingOptions;
  /** Prompt tokens the context holds beside the answer. */
  budget: number;
  fit: FitResult;
}

export interface GenerationJob {
  /** The prompt, built once the model is loaded (its tokenizer and context decide trimming). */
  prompt(info: ModelInfo): GenerationPrompt | Promise<GenerationPrompt>;
  /** The user's sampling settings; the rest fits the loaded model (`resolveSampling`). */
  sampling: Partial<SamplingOptions>;
  /** Replaces the seed the settings give (a regeneration with the seed of the answer it redoes). */
  seed?: number;
  captureRouting: boolean;
  /** Default: the KV cache is reused once the conversation has an earlier message (a first message is evaluated whole). */
  reuseCache?: boolean;
  intervention?: GenerateRequest['intervention'];
  /** Tools offered to the model (VS Code chat's requests), and whether it must call one. */
  tools?: Pick<GenerateRequest, 'tools' | 'toolMode'>;
  /** Called after fitting, just before the engine generates (not called when stopped before). */
  beforeGenerate?(fitted: FittedPrompt): void;
  onFrame?(frame: TokenFrame): void;
}

export interface Generation extends FittedPrompt {
  result: GenerationResult;
  /** Stop was pressed (the result holds what was generated until then). */
  stopped: boolean;
  /** How long the model load took, when this generation waited for one. */
  modelLoadMs?: number;
}

export class GenerationRunner {
  private current: { abort: AbortController; phase: GenerationPhase } | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly session: ModelSession,
  ) {}

  /** What runs now, if anything. */
  get phase(): GenerationPhase | undefined {
    return this.current?.phase;
  }

  /** Why a new generation cannot start now (in words for the user); undefined when it can. */
  get busyMessage(): string | undefined {
    if (!this.current) return undefined;
    return this.current.phase === 'loading' ? BUSY_LOADING : BUSY_GENERATING;
  }

  /** Stops the generation (or the model load it waits for). False when nothing runs. */
  stop(): boolean {
    if (!this.current) return false;
    this.current.abort.abort();
    return true;
  }

  countTokens: CountTokens = (messages) => this.engine.countTokens({ kind: 'chat', messages });

  /**
   * Runs one generation. Throws an `EngineError('busy')` when one already runs, and an error for which `isAbort`
   * holds when stopped before the engine generates.
   */
  async run(job: GenerationJob): Promise<Generation> {
    const busy = this.busyMessage;
    if (busy) throw new EngineError('busy', busy);
    const current = { abort: new AbortController(), phase: 'loading' as GenerationPhase };
    this.current = current;
    const signal = current.abort.signal;
    const startedAt = Date.now();
    try {
      const wasLoaded = this.session.isLoaded;
      const info = await this.session.ensureLoaded(signal);
      const modelLoadMs = wasLoaded ? undefined : Date.now() - startedAt;
      throwIfStopped(signal);
      const prompt = await job.prompt(info);
      throwIfStopped(signal);
      const resolved = resolveSampling(job.sampling, info);
      const sampling = job.seed !== undefined ? { ...resolved, seed: job.seed } : resolved;
      const budget = promptBudget(info.contextSize, sampling.maxTokens);
      const fit = await fitConversation(prompt.system, prompt.history, prompt.message, budget, this.countTokens);
      throwIfStopped(signal);
      const fitted = { info, sampling, budget, fit };
      job.beforeGenerate?.(fitted);
      current.phase = 'generating';
      this.session.setGenerating(true);
      const result = await this.engine.generate(
        {
          input: { kind: 'chat', messages: fit.messages },
          sampling,
          captureRouting: job.captureRouting,
          reuseCache: job.reuseCache ?? fit.messages.filter((m) => m.role !== 'system').length > 1,
          ...(job.intervention ? { intervention: job.intervention } : {}),
          ...job.tools,
        },
        { signal, ...(job.onFrame ? { onFrame: job.onFrame } : {}) },
      );
      return { ...fitted, result, stopped: result.stopReason === 'aborted' || signal.aborted, ...(modelLoadMs !== undefined ? { modelLoadMs } : {}) };
    } catch (error) {
      // Whatever failed after Stop is the stop (a cancelled load may surface as another error).
      if (signal.aborted && !isAbort(error)) throw new EngineError('aborted', STOPPED);
      throw error;
    } finally {
      if (this.session.state === 'generating') this.session.setGenerating(false);
      if (this.current === current) this.current = undefined;
    }
  }
}

function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw new EngineError('aborted', STOPPED);
}
