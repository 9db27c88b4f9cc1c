// The metrics of one summary: ROUGE against the references (best over references), lengths, compression and the
// failure detectors with their evidence. Shared by the runner and `score`.

import { rougeMulti } from './rouge';
import { detectFailures, wordCount, words, type Failure } from './detectors';
import type { MetricSettings, SampleMetrics } from '../types';

export * from './rouge';
export * from './detectors';
export { PorterStemmer, porterStem, type PorterMode } from './porter';

export interface ScoredText {
  metrics: SampleMetrics;
  failures: Failure[];
}

export function scoreSummary(
  output: string,
  references: string[],
  settings: MetricSettings,
  extra: { document?: string; documentWords?: number; summaryTokens?: number } = {},
): ScoredText {
  const outputWords = words(output);
  const detections = detectFailures(output, {
    blank: { minWords: settings.minWords },
    repetition: {
      n: settings.repetitionN,
      maxRepeatedNgramRate: settings.maxRepeatedNgramRate,
      maxRepeatedSpanWords: settings.maxRepeatedSpanWords,
      minRepeatedSpanShare: settings.minRepeatedSpanShare,
      minDistinct2: settings.minDistinct2,
    },
  }, outputWords);
  const summaryWords = outputWords.length;
  const documentWords = extra.documentWords ?? (extra.document !== undefined ? wordCount(extra.document) : 0);
  const rouge = rougeMulti(references, output, { stem: settings.stem });
  return {
    metrics: {
      ...(rouge ? { rouge } : {}),
      summaryWords,
      ...(extra.summaryTokens !== undefined ? { summaryTokens: extra.summaryTokens } : {}),
      documentWords,
      ...(summaryWords > 0 && documentWords > 0 ? { compression: documentWords / summaryWords } : {}),
      refusal: detections.refusal,
      blank: detections.blank,
      repetition: detections.repetition,
      debris: detections.debris,
    },
    failures: detections.failures,
  };
}
