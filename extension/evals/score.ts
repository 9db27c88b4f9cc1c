// Scores predictions made elsewhere: JSON Lines of {"id", "prediction", "references": [...], "document"?} →
// the same metrics as a run (ROUGE best over references, lengths, compression, failure detectors).

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { scoreSummary } from './metrics';
import type { Failure } from './metrics/detectors';
import { distribution } from './aggregate';
import { DEFAULT_METRICS, EvalConfigError } from './suite';
import type { Distribution, MetricSettings, SampleMetrics } from './types';

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

export interface ScoreAggregate {
  items: number;
  scored: number;
  rouge1?: Distribution;
  rouge2?: Distribution;
  rougeL?: Distribution;
  summaryWords?: Distribution;
  compression?: Distribution;
  failureRates: { refusal: number; blank: number; repetition: number; any: number };
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
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (!raw.trim()) continue;
    const line = i + 1;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(raw) as Record<string, unknown>;
    } catch (error) {
      throw new EvalConfigError(file, line, `invalid JSON (${(error as Error).message})`);
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new EvalConfigError(file, line, 'each line must be a JSON object');
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
  const rate = (kind?: string) =>
    items.length ? items.filter((x) => (kind ? x.failures.some((f) => f.kind === kind) : x.failures.length > 0)).length / items.length : 0;
  const pick = (f: (x: ScoredPrediction) => number | undefined) => distribution(items.map(f).filter((v): v is number => v !== undefined));
  const aggregate: ScoreAggregate = {
    items: items.length,
    scored: items.filter((x) => x.metrics.rouge).length,
    failureRates: { refusal: rate('refusal'), blank: rate('blank'), repetition: rate('repetition'), any: rate() },
  };
  const r1 = pick((x) => x.metrics.rouge?.rouge1.fmeasure);
  if (r1) aggregate.rouge1 = r1;
  const r2 = pick((x) => x.metrics.rouge?.rouge2.fmeasure);
  if (r2) aggregate.rouge2 = r2;
  const rl = pick((x) => x.metrics.rouge?.rougeL.fmeasure);
  if (rl) aggregate.rougeL = rl;
  const w = pick((x) => x.metrics.summaryWords);
  if (w) aggregate.summaryWords = w;
  const c = pick((x) => x.metrics.compression);
  if (c) aggregate.compression = c;
  return { file, settings: s, items, aggregate };
}

/** Reads and scores a predictions file. */
export function scoreFile(file: string, settings: Partial<MetricSettings> = {}): ScoreResult {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new EvalConfigError(file, undefined, 'file not found');
  return scorePredictions(parsePredictions(readFileSync(abs, 'utf8'), file), settings, file);
}
