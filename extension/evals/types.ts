// Types of the long-summary evaluations: suites, samples, runs, aggregates, comparisons. No runtime code.
import type { MetricInfo, SampleMetricId } from './metrics/catalogue';

import type { Failure, FailureKind, RefusalResult, BlankResult, RepetitionStats, DebrisResult } from './metrics/detectors';
import type { MultiRougeScores } from './metrics/rouge';
import type { RoutingSummaryStats } from '../routing/summary-stats';
import type { ModelIdentity, StopReason } from '../engine/types';

export type PromptMode = 'chat' | 'raw';
export type LongInputStrategyName = 'truncate-middle' | 'map-reduce';

export interface EvalItem {
  id: string;
  title?: string;
  document: string;
  references: string[];
  /** Where the item was read from (file and 1-based line). */
  source: { file: string; line: number };
}

export interface PromptVariant {
  name: string;
  description?: string;
  /** Template with {document} and optionally {title}. */
  template: string;
  system?: string;
}

export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
  seed: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  stop?: string[];
}

export interface LongInputConfig {
  strategy: LongInputStrategyName;
  /** Tokens kept free for the answer; default generation.maxTokens. */
  reserveTokens?: number;
  chunkTokens?: number;
  chunkOverlap: number;
  mapTemplate?: string;
  reduceTemplate?: string;
  mapMaxTokens?: number;
  maxDepth: number;
}

export interface MetricSettings {
  stem: boolean;
  minWords: number;
  repetitionN: number;
  maxRepeatedNgramRate: number;
  maxRepeatedSpanWords: number;
  minRepeatedSpanShare: number;
  minDistinct2: number;
}

/**
 * A named expert intervention a suite compares against the baseline: each prompt variant also runs under it, as the
 * variant `<variant>+<name>`. SPECs as the CLI's --ablate/--force (extension/engine/intervention.ts).
 */
export interface SuiteIntervention {
  name: string;
  description?: string;
  ablate?: string;
  force?: string;
  /** Top-k at load (llama.cpp's expert_used_count override). */
  expertsPerToken?: number;
}

/** Perplexity of the items' documents under one intervention (llama-perplexity's definition). */
export interface PerplexityFigure {
  perplexity: number;
  stderr: number;
  context: number;
  chunks: number;
}

export interface EvalSuite {
  name: string;
  description?: string;
  /** The suite file, absolute (or '' for a suite built in memory). */
  path: string;
  itemsFiles: string[];
  items: EvalItem[];
  mode: PromptMode;
  contextSize?: number;
  variants: PromptVariant[];
  /** Interventions run beside the baseline (each variant also as `<variant>+<name>`). */
  interventions?: SuiteIntervention[];
  generation: GenerationSettings;
  longInput: LongInputConfig;
  metrics: MetricSettings;
}

/** What the long-input step did to fit a document. */
export interface StrategyInfo {
  /** 'none' when the prompt fitted as it was. */
  strategy: 'none' | LongInputStrategyName;
  /** Tokens of the document (engine tokens). */
  documentTokens: number;
  /** Tokens of the final prompt as rendered. */
  promptTokens: number;
  /** Room for the prompt: contextSize − reserved answer tokens. */
  budgetTokens: number;
  /** truncate-middle: document tokens removed from the middle. */
  tokensDropped?: number;
  /** map-reduce: chunks summarised at the first level, summaries merged in total, levels, generation calls. */
  chunks?: number;
  chunksMerged?: number;
  levels?: number;
  calls?: number;
}

export interface SpeedStats {
  timeToFirstTokenMs: number;
  promptTokensPerSecond: number;
  generatedTokensPerSecond: number;
  promptTokens: number;
  generatedTokens: number;
  stopReason: StopReason;
  /** Wall time of the whole sample, map-reduce calls included. */
  wallMs: number;
}

export interface SampleMetrics {
  /** Best over the references; absent without references. */
  rouge?: MultiRougeScores;
  summaryWords: number;
  /** Engine tokens of the summary, when known. */
  summaryTokens?: number;
  documentWords: number;
  /** documentWords / summaryWords (absent for an empty summary). */
  compression?: number;
  refusal: RefusalResult;
  blank: BlankResult;
  repetition: RepetitionStats;
  /** Absent in runs scored before the debris detector existed. */
  debris?: DebrisResult;
}

/** One line of samples.jsonl. */
export interface SampleRecord {
  /** model \u241f variant \u241f item id: what resume matches on. */
  key: string;
  itemId: string;
  title?: string;
  variant: string;
  model: string;
  modelName: string;
  output: string;
  references: number;
  metrics?: SampleMetrics;
  failures: Failure[];
  speed?: SpeedStats;
  routing?: RoutingSummaryStats;
  strategy?: StrategyInfo;
  /** map-reduce: the chunk summaries of each level (first level first), to inspect intermediate failures. */
  intermediate?: string[][];
  /** Set when the sample could not be generated; resume retries it. */
  error?: string;
  startedAt: string;
  finishedAt: string;
}

export type RunStatus = 'running' | 'completed' | 'cancelled' | 'failed';

/** run.json */
export interface RunInfo {
  version: 1;
  suite: { name: string; path: string; items: number; itemsFiles: string[] };
  /** The models' keys (a GGUF path, or "MODEL @ ENDPOINT"): what samples name and resume matches on. */
  models: string[];
  /** Per key of `models`, the model as a value (absent in runs written before: their keys show as stored). */
  identities?: Record<string, ModelIdentity>;
  variants: string[];
  mode: PromptMode;
  generation: GenerationSettings;
  longInput: LongInputConfig;
  metrics: MetricSettings;
  contextSize?: number;
  maxItems?: number;
  /** Settings that must match for resume. */
  fingerprint: string;
  startedAt: string;
  finishedAt?: string;
  status: RunStatus;
  error?: string;
  /** What the user should know about the run's results, e.g. a context beyond what a model was trained for. */
  warnings?: string[];
  samples: { total: number; done: number; errors: number; resumed: number };
  /** Each variant's template + system prompt as run, to refuse resuming after a variant changed. */
  templates?: Record<string, string>;
  /** The suite's interventions, and the intervention of each run variant (`<variant>+<name>`; baseline variants absent). */
  interventions?: SuiteIntervention[];
  variantInterventions?: Record<string, string>;
  /** Per model path, per intervention name ('baseline' without one): perplexity of the items' documents. */
  perplexity?: Record<string, Record<string, PerplexityFigure>>;
  /** This invocation's throughput: samples generated at once, and samples and generated tokens per wall-clock second. */
  throughput?: { concurrency: number; samples: number; wallMs: number; samplesPerMinute: number; generatedTokensPerSecond: number };
}

export interface Distribution {
  n: number;
  mean: number;
  median: number;
  min: number;
  max: number;
}

/**
 * Aggregates of scored summaries (a run's group, or a `score` file): failure rates, and the distribution of each
 * per-sample metric of the catalogue over the summaries that have it (left out where none has it).
 */
export type ScoreStats = {
  scored: number;
  failureRates: Record<FailureKind | 'any', number>;
} & Partial<Record<SampleMetricId, Distribution>>;

/** Aggregates of one model × variant. */
export interface GroupSummary extends ScoreStats {
  model: string;
  modelName: string;
  variant: string;
  samples: number;
  errors: number;
  /** The intervention of this group's variant, and the model's perplexity under it (run-level, from RunInfo). */
  intervention?: string;
  perplexity?: number;
  truncated: number;
  mapReduced: number;
}

/** summary.json */
export interface RunSummary {
  suite: string;
  status: RunStatus;
  groups: GroupSummary[];
}

export interface RunListEntry {
  dir: string;
  id: string;
  suite: string;
  models: string[];
  /** The models' short names, as `models` (runModelName). */
  modelNames: string[];
  variants: string[];
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  samples: number;
}

export interface LoadedRun {
  dir: string;
  id: string;
  info: RunInfo;
  samples: SampleRecord[];
  summary: RunSummary;
}

export interface ComparisonColumn {
  run: string;
  runDir: string;
  model: string;
  modelName: string;
  variant: string;
  label: string;
  /** A label that tells this column from the others in the same comparison (charts, narrow headers). */
  shortLabel?: string;
}

export interface RunComparison {
  columns: ComparisonColumn[];
  /** Metric rows: one value per column (undefined where missing). */
  metrics: (MetricInfo & { values: (number | undefined)[] })[];
  /** Per item: ROUGE-L F (or undefined) and failure kinds per column. */
  items: { itemId: string; title?: string; rougeL: (number | undefined)[]; failures: string[][] }[];
}

export interface EvalProgress {
  kind: 'start' | 'model' | 'sample' | 'done';
  /** Samples finished so far in this run (resumed ones included) and the total. */
  done: number;
  total: number;
  /** Of `done`, those skipped because a previous run had them. */
  resumed: number;
  model?: string;
  /** The identity of `model`. */
  identity?: ModelIdentity;
  variant?: string;
  itemId?: string;
  elapsedMs: number;
  /** Estimated time left, from the mean time of the samples generated in this run. */
  etaMs?: number;
  sample?: SampleRecord;
  message?: string;
}
