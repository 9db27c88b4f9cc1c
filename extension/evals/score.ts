// Scores predictions made elsewhere: JSON Lines of {"id", "prediction", "references": [...], "document"?} →
// the same metrics as a run (ROUGE best over references, lengths, compression, failure detectors).

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { scoreSummary } from './metrics';
import type { Failure } from './metrics/detectors';
import { scoreStats } from './aggregate';
import { DEFAULT_METRICS, EvalConfigError, jsonObjectLines } from './suite';
import type { MetricSettings, SampleMetrics, ScoreStats } from './types';

export interface PredictionRecord {
  id: string;
  prediction: string;
  references: string[];
  document?: string;
}

export interface ScoredPrediction {
  id: string;
  line: number;
  metrics: SampleMetrics;
  failures: Failure[];
}

export interface ScoreAggregate extends ScoreStats {
  items: number;
}

export interface ScoreResult {
  file: string;
  settings: MetricSettings;
  items: ScoredPrediction[];
  aggregate: ScoreAggregate;
}

const KNOWN = new Set(['id', '_id', 'prediction', 'references', 'reference', 'summary', 'document', 'title']);

export function parsePredictions(text: string, file: string): (PredictionRecord & { line: number })[] {
  const out: (PredictionRecord & { line: number })[] = [];
  for (const { value: rec, line } of jsonObjectLines(text, file)) {
    const unknown = Object.keys(rec).find((k) => !KNOWN.has(k));
    if (unknown) throw new EvalConfigError(file, line, `unknown key "${unknown}"`);
    if (typeof rec.prediction !== 'string') throw new EvalConfigError(file, line, 'missing "prediction" (a string)');
    const refs = rec.references ?? rec.reference ?? rec.summary;
    const references = typeof refs === 'string' ? [refs] : Array.isArray(refs) ? refs : refs === undefined ? [] : null;
    if (references === null || references.some((r) => typeof r !== 'string')) {
      throw new EvalConfigError(file, line, '"references" must be a list of strings');
    }
    if (rec.document !== undefined && typeof rec.document !== 'string') throw new EvalConfigError(file, line, '"document" must be a string');
    const id = rec.id ?? rec._id;
    out.push({
      id: id !== undefined ? String(id) : String(line),
      prediction: rec.prediction,
      references: references as string[],
      ...(typeof rec.document === 'string' ? { document: rec.document } : {}),
      line,
    });
  }
  return out;
}

export function scorePredictions(records: (PredictionRecord & { line?: number })[], settings: Partial<MetricSettings> = {}, file = ''): ScoreResult {
  const s: MetricSettings = { ...DEFAULT_METRICS, ...settings };
  const items: ScoredPrediction[] = records.map((r, i) => {
    const scored = scoreSummary(r.prediction, r.references, s, r.document !== undefined ? { document: r.document } : {});
    return { id: r.id, line: r.line ?? i + 1, metrics: scored.metrics, failures: scored.failures };
  });
  const aggregate: ScoreAggregate = { items: items.length, ...scoreStats(items) };
  return { file, settings: s, items, aggregate };
}

/** Reads and scores a predictions file. */
export function scoreFile(file: string, settings: Partial<MetricSettings> = {}): ScoreResult {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new EvalConfigError(file, undefined, 'file not found');
  return scorePredictions(parsePredictions(readFileSync(abs, 'utf8'), file), settings, file);
}
