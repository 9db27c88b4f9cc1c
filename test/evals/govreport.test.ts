// Real documents: 10 public-domain GAO/CRS reports with human summaries, read straight from the shared data folder.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { loadItemsFile } from '../../extension/evals/suite';
import type { EvalItem } from '../../extension/evals/types';
import { rougeMulti } from '../../extension/evals/metrics/rouge';
import { detectFailures, words } from '../../extension/evals/metrics/detectors';
import { scorePredictions } from '../../extension/evals/score';

const CANDIDATES = [
  process.env.MOE_LENS_GOVREPORT,
  '/work/shared/data/govreport/gov_reports.jsonl',
  path.resolve(__dirname, '../../../shared/data/govreport/gov_reports.jsonl'),
  path.resolve(__dirname, '../../shared/data/govreport/gov_reports.jsonl'),
].filter((p): p is string => !!p);
const FILE = CANDIDATES.find((p) => existsSync(p));

/** The first `n` words of the document: a "lead" baseline summary. */
function lead(document: string, n: number): string {
  return words(document).slice(0, n).join(' ');
}

describe.skipIf(!FILE)('GovReport documents (shared/data/govreport)', () => {
  let items: EvalItem[] = [];
  beforeAll(async () => {
    items = FILE ? await loadItemsFile(FILE) : [];
  });

  it('parses all 10 reports with their summaries', () => {
    expect(items).toHaveLength(10);
    for (const it of items) {
      expect(it.document.length).toBeGreaterThan(10_000);
      expect(it.references).toHaveLength(1);
      expect(words(it.references[0]).length).toBeGreaterThan(150);
    }
    expect(items.filter((i) => i.title).length).toBe(5); // GAO items have titles, CRS items none
  });

  it('lead text scores within (0,1) and above an unrelated report’s lead', () => {
    let ownWins = 0;
    for (const [i, it] of items.entries()) {
      const other = items[(i + 5) % items.length]; // pairs a CRS report with a GAO report and back
      const own = rougeMulti(it.references, lead(it.document, 250))!;
      const unrelated = rougeMulti(it.references, lead(other.document, 250))!;
      for (const t of ['rouge1', 'rouge2', 'rougeL'] as const) {
        for (const v of [own[t].precision, own[t].recall, own[t].fmeasure]) {
          expect(v).toBeGreaterThan(0);
          expect(v).toBeLessThan(1);
        }
      }
      expect(own.rouge1.fmeasure).toBeGreaterThan(unrelated.rouge1.fmeasure);
      expect(own.rouge2.fmeasure).toBeGreaterThan(unrelated.rouge2.fmeasure);
      if (own.rougeL.fmeasure > unrelated.rougeL.fmeasure) ownWins++;
    }
    expect(ownWins).toBeGreaterThanOrEqual(9);
  });

  it('the summary scores 1 against itself and the reports are not flagged as failures', () => {
    for (const it of items) {
      const self = rougeMulti(it.references, it.references[0])!;
      expect(self.rouge1.fmeasure).toBe(1);
      expect(self.rougeL.fmeasure).toBe(1);
      expect(detectFailures(it.references[0]).failures).toEqual([]);
    }
  });

  it('long texts are judged by windows: of the 4,000-word reports only the one listing nominees row after row reads as repetitive', () => {
    // Over a whole long report distinct-1 falls to 0.14–0.28 and deflate to 0.21–0.34; a window of 200 words or
    // 1,000 characters keeps prose apart from loops.
    const flagged = items.filter((it) => detectFailures(it.document).failures.length > 0);
    expect(flagged.map((it) => it.id)).toEqual(['crs_leval_govreport_03']);
    expect(detectFailures(flagged[0].document).failures.map((f) => f.kind)).toEqual(['repetition']);
  });

  it('score() on lead predictions gives sane aggregates and compression ratios', () => {
    const result = scorePredictions(
      items.map((it) => ({ id: it.id, prediction: lead(it.document, 300), references: it.references, document: it.document })),
    );
    expect(result.aggregate.items).toBe(10);
    expect(result.aggregate.rouge1!.mean).toBeGreaterThan(0.2);
    expect(result.aggregate.rouge1!.mean).toBeLessThan(0.8);
    expect(result.aggregate.rouge2!.mean).toBeLessThan(result.aggregate.rouge1!.mean);
    for (const x of result.items) expect(x.metrics.compression).toBeGreaterThan(10);
  });
});
