// The one catalogue of eval metrics: an id, a label, a short column heading, a unit, which direction is better,
// and where the value lives in a model × variant group (and in one sample, where it has a per-sample value).
// Every table, chart, report, CLI table and comparison takes its columns, labels and formatting from here
// (the formatting itself is extension/format.ts).
import { formatMetric, type MetricUnit } from '../../format';
import type { GroupSummary, SampleRecord } from '../types';

export interface MetricDef {
  id: MetricId;
  /** For charts, comparison rows and report headings: "ROUGE-L F (mean)". */
  label: string;
  /** For table columns (CLI, run tables): "ROUGE-L". */
  short: string;
  unit: MetricUnit;
  better: 'higher' | 'lower';
  ofGroup(g: GroupSummary): number | undefined;
  ofSample?(s: SampleRecord): number | undefined;
}

/** A metric's description without its accessors: what travels in messages and JSON. */
export type MetricInfo = Omit<MetricDef, 'ofGroup' | 'ofSample'>;

export type MetricId =
  | 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLMedian'
  | 'refusalRate' | 'blankRate' | 'repetitionRate' | 'debrisRate' | 'failureRate'
  | 'summaryWords' | 'compression' | 'timeToFirstTokenMs' | 'promptTokensPerSecond' | 'generatedTokensPerSecond' | 'loadEntropy'
  | 'perplexity';

const def = (
  id: MetricId,
  label: string,
  short: string,
  unit: MetricUnit,
  better: 'higher' | 'lower',
  ofGroup: MetricDef['ofGroup'],
  ofSample?: MetricDef['ofSample'],
): MetricDef => ({ id, label, short, unit, better, ofGroup, ...(ofSample ? { ofSample } : {}) });

export const METRICS: Record<MetricId, MetricDef> = {
  rouge1: def('rouge1', 'ROUGE-1 F (mean)', 'ROUGE-1', 'score', 'higher', (g) => g.rouge1?.mean, (s) => s.metrics?.rouge?.rouge1.fmeasure),
  rouge2: def('rouge2', 'ROUGE-2 F (mean)', 'ROUGE-2', 'score', 'higher', (g) => g.rouge2?.mean, (s) => s.metrics?.rouge?.rouge2.fmeasure),
  rougeL: def('rougeL', 'ROUGE-L F (mean)', 'ROUGE-L', 'score', 'higher', (g) => g.rougeL?.mean, (s) => s.metrics?.rouge?.rougeL.fmeasure),
  rougeLMedian: def('rougeLMedian', 'ROUGE-L F (median)', 'ROUGE-L med.', 'score', 'higher', (g) => g.rougeL?.median),
  refusalRate: def('refusalRate', 'Refusal rate', 'Refusal', 'rate', 'lower', (g) => g.failureRates.refusal),
  blankRate: def('blankRate', 'Blank rate', 'Blank', 'rate', 'lower', (g) => g.failureRates.blank),
  repetitionRate: def('repetitionRate', 'Repetition rate', 'Repetition', 'rate', 'lower', (g) => g.failureRates.repetition),
  debrisRate: def('debrisRate', 'Code debris rate', 'Debris', 'rate', 'lower', (g) => g.failureRates.debris),
  failureRate: def('failureRate', 'Any failure rate', 'Any failure', 'rate', 'lower', (g) => g.failureRates.any),
  summaryWords: def('summaryWords', 'Summary words (mean)', 'Words', 'count', 'higher', (g) => g.summaryWords?.mean, (s) => s.metrics?.summaryWords),
  compression: def('compression', 'Summary ÷ document length (mean)', 'Compr.', 'ratio', 'lower', (g) => g.compression?.mean, (s) => s.metrics?.compression),
  timeToFirstTokenMs: def('timeToFirstTokenMs', 'Time to first token (mean)', 'TTFT', 'ms', 'lower', (g) => g.timeToFirstTokenMs?.mean, (s) => s.speed?.timeToFirstTokenMs),
  promptTokensPerSecond: def('promptTokensPerSecond', 'Prompt speed (mean)', 'Prompt', 'tokens/s', 'higher', (g) => g.promptTokensPerSecond?.mean, (s) => s.speed?.promptTokensPerSecond),
  generatedTokensPerSecond: def('generatedTokensPerSecond', 'Generation speed (mean)', 'Generation', 'tokens/s', 'higher', (g) => g.generatedTokensPerSecond?.mean, (s) => s.speed?.generatedTokensPerSecond),
  loadEntropy: def('loadEntropy', 'Expert load entropy (mean)', 'Load entropy', 'ratio', 'higher', (g) => g.loadEntropy?.mean),
  // Of the items' documents under the group's intervention (suites with interventions; llama-perplexity's definition).
  perplexity: def('perplexity', 'Perplexity of the documents', 'PPL', 'ratio', 'lower', (g) => g.perplexity),
};

/** The metrics of a run's per model × variant table (CLI, report.md, the runs view), in column order. */
export const GROUP_TABLE: MetricId[] = [
  'rouge1', 'rouge2', 'rougeL', 'refusalRate', 'blankRate', 'repetitionRate', 'debrisRate',
  'summaryWords', 'timeToFirstTokenMs', 'promptTokensPerSecond', 'generatedTokensPerSecond', 'loadEntropy',
];

/** The comparison's rows, in order. */
export const COMPARED: MetricId[] = [
  'rouge1', 'rouge2', 'rougeL', 'rougeLMedian', 'refusalRate', 'blankRate', 'repetitionRate', 'debrisRate', 'failureRate',
  'summaryWords', 'timeToFirstTokenMs', 'promptTokensPerSecond', 'generatedTokensPerSecond', 'loadEntropy', 'perplexity',
];

export function metricInfo(id: MetricId): MetricInfo {
  const { ofGroup: _g, ofSample: _s, ...info } = METRICS[id];
  return info;
}

/** A group's value of a metric, formatted by its unit ("–" where the group has none). */
export function formatGroupMetric(id: MetricId, g: GroupSummary): string {
  return formatMetric(METRICS[id].ofGroup(g), METRICS[id].unit);
}
