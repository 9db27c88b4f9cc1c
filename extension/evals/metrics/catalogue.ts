// The one catalogue of eval metrics. A metric is its computation (a value per sample, or per model × variant
// group) and one entry here: label, column heading, unit, which direction is better and where it is shown. Every
// table, chart, report, CLI table, comparison and progress line takes its metrics, labels and formatting from here
// (the formatting itself is extension/format.ts), and the group aggregates (aggregate.ts) are computed for every
// per-sample entry: a per-sample metric's group value is the mean of its samples'.
import { formatMetric, type MetricUnit } from '../../format';
import type { FailureKind } from './detectors';
import type { GroupSummary, SampleRecord, ScoreStats } from '../types';

/** Where a metric is shown. */
export type MetricPlace =
  /** The per model × variant tables: `moe-lens eval`, report.md, the run's tab. */
  | 'groups'
  /** The rows of a comparison of runs. */
  | 'compare'
  /** The run tab's samples table. */
  | 'samples'
  /** `moe-lens score`'s table (metrics of the text alone). */
  | 'score'
  /** The CLI's line per finished sample. */
  | 'progress'
  /** A bar per group in the run's tab and per column in a comparison. */
  | 'chart';

/** What a per-sample metric reads: a run's sample, or a scored prediction (`score`: no speed, no routing). */
export type Scored = Partial<Pick<SampleRecord, 'metrics' | 'speed' | 'routing'>>;

/**
 * What a group-level entry reads (the failure rates, the run's perplexity): a part of GroupSummary written out
 * here, because GroupSummary's distributions are typed from this catalogue.
 */
interface GroupCore {
  failureRates: Record<FailureKind | 'any', number>;
  perplexity?: number;
}

interface MetricSpec {
  /** For charts, comparison rows and report headings: "ROUGE-L F (mean)". */
  label: string;
  /** For table columns (CLI, run tables): "ROUGE-L". */
  short: string;
  unit: MetricUnit;
  /** 'neither' for a description of the routing that is no better one way than the other. */
  better: 'higher' | 'lower' | 'neither';
  shown: readonly MetricPlace[];
}
interface SampleSpec extends MetricSpec {
  ofSample(s: Scored): number | undefined;
}
interface GroupSpec extends MetricSpec {
  ofGroup(g: GroupCore): number | undefined;
}
/** Another statistic of a per-sample metric's distribution than its mean. */
interface StatSpec extends MetricSpec {
  of: string;
  stat: 'median' | 'min' | 'max';
}

const sample = (label: string, short: string, unit: MetricUnit, better: MetricSpec['better'], shown: MetricPlace[], ofSample: SampleSpec['ofSample']): SampleSpec =>
  ({ label, short, unit, better, shown, ofSample });
const group = (label: string, short: string, unit: MetricUnit, better: MetricSpec['better'], shown: MetricPlace[], ofGroup: GroupSpec['ofGroup']): GroupSpec =>
  ({ label, short, unit, better, shown, ofGroup });
const statOf = (of: string, stat: StatSpec['stat'], label: string, short: string, unit: MetricUnit, better: MetricSpec['better'], shown: MetricPlace[]): StatSpec =>
  ({ label, short, unit, better, shown, of, stat });
/** The share of a group's scored samples flagged with a failure (of one kind, or any). */
const failureRate = (kind: FailureKind | 'any', label: string, short: string, shown: MetricPlace[]): GroupSpec =>
  group(label, short, 'rate', 'lower', shown, (g) => g.failureRates[kind]);

// In display order: every table and list shows its metrics in this order.
const CATALOGUE = {
  rouge1: sample('ROUGE-1 F (mean)', 'ROUGE-1', 'score', 'higher', ['groups', 'compare', 'samples', 'score'], (s) => s.metrics?.rouge?.rouge1.fmeasure),
  rouge2: sample('ROUGE-2 F (mean)', 'ROUGE-2', 'score', 'higher', ['groups', 'compare', 'samples', 'score'], (s) => s.metrics?.rouge?.rouge2.fmeasure),
  rougeL: sample('ROUGE-L F (mean)', 'ROUGE-L', 'score', 'higher', ['groups', 'compare', 'samples', 'score', 'progress', 'chart'], (s) => s.metrics?.rouge?.rougeL.fmeasure),
  rougeLMedian: statOf('rougeL', 'median', 'ROUGE-L F (median)', 'ROUGE-L med.', 'score', 'higher', ['compare']),
  refusalRate: failureRate('refusal', 'Refusal rate', 'Refusal', ['groups', 'compare']),
  blankRate: failureRate('blank', 'Blank rate', 'Blank', ['groups', 'compare']),
  repetitionRate: failureRate('repetition', 'Repetition rate', 'Repetition', ['groups', 'compare']),
  debrisRate: failureRate('debris', 'Code debris rate', 'Debris', ['groups', 'compare']),
  failureRate: failureRate('any', 'Any failure rate', 'Any failure', ['compare', 'chart']),
  summaryWords: sample('Summary words (mean)', 'Words', 'count', 'higher', ['groups', 'compare', 'samples', 'score'], (s) => s.metrics?.summaryWords),
  compression: sample('Summary ÷ document length (mean)', 'Compr.', 'ratio', 'lower', ['samples'], (s) => s.metrics?.compression),
  timeToFirstTokenMs: sample('Time to first token (mean)', 'TTFT', 'ms', 'lower', ['groups', 'compare', 'samples'], (s) => s.speed?.timeToFirstTokenMs),
  promptTokensPerSecond: sample('Prompt speed (mean)', 'Prompt', 'tokens/s', 'higher', ['groups', 'compare'], (s) => s.speed?.promptTokensPerSecond),
  generatedTokensPerSecond: sample('Generation speed (mean)', 'Generation', 'tokens/s', 'higher', ['groups', 'compare', 'samples', 'chart'], (s) => s.speed?.generatedTokensPerSecond),
  loadEntropy: sample('Expert load entropy (mean)', 'Load entropy', 'ratio', 'higher', ['groups', 'compare'], (s) => s.routing?.meanLoadEntropy),
  // How often a token's top-1 expert is the previous token's (mean over layers; uniform routing gives 1/experts).
  sameTop1Rate: sample('Same top-1 expert as the previous token (mean)', 'Same top-1', 'rate', 'neither', ['compare'], (s) => s.routing?.meanSameTop1Rate),
  // Of the items' documents under the group's intervention (suites with interventions; llama-perplexity's definition).
  perplexity: group('Perplexity of the documents', 'PPL', 'ratio', 'lower', ['compare'], (g) => g.perplexity),
};

export type MetricId = keyof typeof CATALOGUE;
/** The metrics with a value per sample: each has a distribution in a group (`GroupSummary[id]`). */
export type SampleMetricId = { [K in MetricId]: (typeof CATALOGUE)[K] extends SampleSpec ? K : never }[MetricId];

/** What a group metric reads: a run's group, or the aggregate of `score` (which has only the score stats). */
export type GroupValues = ScoreStats & Partial<GroupSummary>;

export interface MetricDef extends MetricSpec {
  id: MetricId;
  ofGroup(g: GroupValues): number | undefined;
  ofSample?(s: Scored): number | undefined;
}

/** A metric's description without its accessors: what travels in messages and JSON. */
export type MetricInfo = Omit<MetricDef, 'ofGroup' | 'ofSample' | 'shown'>;

function defOf(id: string, spec: SampleSpec | GroupSpec | StatSpec): MetricDef {
  const { label, short, unit, better, shown } = spec;
  const info = { id: id as MetricId, label, short, unit, better, shown };
  if ('ofSample' in spec) return { ...info, ofSample: spec.ofSample, ofGroup: (g) => g[id as SampleMetricId]?.mean };
  if ('stat' in spec) return { ...info, ofGroup: (g) => g[spec.of as SampleMetricId]?.[spec.stat] };
  return { ...info, ofGroup: spec.ofGroup };
}

export const METRICS = Object.fromEntries(Object.entries(CATALOGUE).map(([id, spec]) => [id, defOf(id, spec)])) as Record<MetricId, MetricDef>;

const ALL = Object.keys(CATALOGUE) as MetricId[];

/** The metrics shown in a place, in catalogue order. */
export function metricsIn(place: MetricPlace): MetricId[] {
  return ALL.filter((id) => METRICS[id].shown.includes(place));
}

/** The metrics with a value per sample, in catalogue order. */
export const SAMPLE_METRICS = ALL.filter((id): id is SampleMetricId => METRICS[id].ofSample !== undefined);

export function metricInfo(id: MetricId): MetricInfo {
  const { ofGroup: _g, ofSample: _s, shown: _p, ...info } = METRICS[id];
  return info;
}

/** A heading that says the scale: scores are shown × 100. */
export function metricHeading(m: MetricInfo): string {
  return `${m.label}${m.unit === 'score' ? ' × 100' : ''}`;
}

/** A chart's fixed maximum: 1 for scores and rates, none (the largest value) for the others. */
export function chartMax(m: MetricInfo): number | undefined {
  return m.unit === 'score' || m.unit === 'rate' ? 1 : undefined;
}

/** A group's value of a metric, formatted by its unit ("–" where the group has none). */
export function formatGroupMetric(id: MetricId, g: GroupValues): string {
  return formatMetric(METRICS[id].ofGroup(g), METRICS[id].unit);
}

/** A sample's value of a metric, formatted by its unit ("–" where the sample has none). */
export function formatSampleMetric(id: MetricId, s: Scored): string {
  return formatMetric(METRICS[id].ofSample?.(s), METRICS[id].unit);
}
