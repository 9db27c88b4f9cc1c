// Sampling defaults, written once: what a generation uses for anything its request leaves out, and what the
// chat uses for settings the user has not set, fitted to the loaded model (answer length from its context; a
// text-continuation model's measured temperature and a stop at the end of its paragraph). No vscode import.
import type { ModelInfo, SamplingOptions } from './types';

export const DEFAULT_SAMPLING: SamplingOptions = {
  temperature: 0.7,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  repeatLastN: 64,
  seed: 0,
  maxTokens: 512,
  stop: [],
};

/** Reproducible runs (the CLI's `generate` unless told otherwise): greedy, no repeat penalty; the rest as above. */
export const GREEDY_SAMPLING: SamplingOptions = { ...DEFAULT_SAMPLING, temperature: 0, repeatPenalty: 1 };

/**
 * A text-continuation model (the built-in demo): one paragraph of at most 96 tokens, at the temperature that gave
 * the demo its most readable text with the other defaults (scripts/demo-sampling.ts; figures in
 * models/demo/README.md, "Sampling"). Its chat template joins the turns with a blank line: the blank line ends
 * the model's turn.
 */
export const TEXT_CONTINUATION_SAMPLING = { temperature: 0.5, maxTokens: 96, stop: ['\n\n'] } as const;

/** Answer length of an assistant model: a quarter of the context (several turns fit), at most this. */
const MAX_AUTO_ANSWER = 1024;

/** The sampling that fits `model` when the user has set nothing. */
export function modelSampling(model: Pick<ModelInfo, 'contextSize' | 'continuesText'>): SamplingOptions {
  const quarter = Math.max(16, Math.floor(model.contextSize / 4));
  if (model.continuesText) {
    const { stop, ...rest } = TEXT_CONTINUATION_SAMPLING;
    return { ...DEFAULT_SAMPLING, ...rest, maxTokens: Math.min(rest.maxTokens, quarter), stop: [...stop] };
  }
  return { ...DEFAULT_SAMPLING, maxTokens: Math.min(MAX_AUTO_ANSWER, quarter) };
}

/**
 * The user's settings over the model's: what the user left out (undefined) comes from `modelSampling`. The stop
 * at the end of a paragraph belongs to the automatic answer length: an answer length the user set is generated
 * whole (up to the user's own stops).
 */
export function resolveSampling(user: Partial<SamplingOptions>, model: Pick<ModelInfo, 'contextSize' | 'continuesText'>): SamplingOptions {
  const auto = modelSampling(model);
  const set = Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)) as Partial<SamplingOptions>;
  return { ...auto, ...set, stop: set.stop ?? (set.maxTokens === undefined ? auto.stop : []) };
}
