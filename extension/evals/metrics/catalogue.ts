// The one catalogue of eval metrics: an id, a label, a unit and which direction is better. Every table, chart,
// report and comparison takes its label and formatting from here (formatting itself is extension/format.ts).
import type { MetricUnit } from '../../format';

export interface MetricDef {
  id: MetricId;
  label: string;
  unit: MetricUnit;
  better: 'higher' | 'lower';
}

export type MetricId =
  | 'rouge1' | 'rouge2' | 'rougeL' | 'rougeLMedian'
  | 'refusalRate' | 'blankRate' | 'repetitionRate' | 'failureRate'
  | 'summaryWords' | 'timeToFirstTokenMs' | 'promptTokensPerSecond' | 'generatedTokensPerSecond' | 'loadEntropy';

const def = (id: MetricId, label: string, unit: MetricUnit, better: 'higher' | 'lower'): MetricDef => ({ id, label, unit, better });

export const METRICS: Record<MetricId, MetricDef> = {
  rouge1: def('rouge1', 'ROUGE-1 F (mean)', 'score', 'higher'),
  rouge2: def('rouge2', 'ROUGE-2 F (mean)', 'score', 'higher'),
  rougeL: def('rougeL', 'ROUGE-L F (mean)', 'score', 'higher'),
  rougeLMedian: def('rougeLMedian', 'ROUGE-L F (median)', 'score', 'higher'),
  refusalRate: def('refusalRate', 'Refusal rate', 'rate', 'lower'),
  blankRate: def('blankRate', 'Blank rate', 'rate', 'lower'),
  repetitionRate: def('repetitionRate', 'Repetition rate', 'rate', 'lower'),
  failureRate: def('failureRate', 'Any failure rate', 'rate', 'lower'),
  summaryWords: def('summaryWords', 'Summary words (mean)', 'count', 'higher'),
  timeToFirstTokenMs: def('timeToFirstTokenMs', 'Time to first token (mean)', 'ms', 'lower'),
  promptTokensPerSecond: def('promptTokensPerSecond', 'Prompt speed (mean)', 'tokens/s', 'higher'),
  generatedTokensPerSecond: def('generatedTokensPerSecond', 'Generation speed (mean)', 'tokens/s', 'higher'),
  loadEntropy: def('loadEntropy', 'Expert load entropy (mean)', 'ratio', 'higher'),
};
