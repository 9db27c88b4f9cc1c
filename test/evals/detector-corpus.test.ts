// The labelled corpus of degenerate and good summaries (test/evals/detector-corpus.json): real answers of the demo
// model on the built-in suite and hand-written ones. Every entry must get exactly its expected flags under the
// default settings, each flag with a message and evidence taken from the text.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFailures, showWhitespace, type FailureKind } from '../../extension/evals/metrics/detectors';

interface CorpusEntry {
  id: string;
  text: string;
  expected: FailureKind[];
  source: string;
}

const corpus: CorpusEntry[] = JSON.parse(readFileSync(path.join(__dirname, 'detector-corpus.json'), 'utf8'));

describe('detector corpus', () => {
  it('holds real demo answers and good summaries, both flagged and unflagged entries', () => {
    expect(new Set(corpus.map((e) => e.id)).size).toBe(corpus.length);
    const demo = corpus.filter((e) => e.source.startsWith('demo-moe'));
    expect(demo.length).toBeGreaterThanOrEqual(8);
    expect(demo.filter((e) => e.expected.length > 0).length).toBeGreaterThanOrEqual(5);
    expect(corpus.filter((e) => e.id.startsWith('good-') && e.expected.length === 0).length).toBeGreaterThanOrEqual(10);
    for (const kind of ['blank', 'repetition', 'debris', 'refusal'] as const) expect(corpus.some((e) => e.expected.includes(kind)), kind).toBe(true);
  });

  it.each(corpus.map((e) => [e.id, e] as const))('%s gets exactly its expected flags', (_id, entry) => {
    const { failures } = detectFailures(entry.text);
    const got = failures.map((f) => f.kind).sort();
    // On a mismatch the message names the entry, its source and what each detector said.
    const said = failures.map((f) => `${f.kind}: ${f.message} [${f.evidence}]`).join('\n');
    expect(got, `${entry.id} (${entry.source})\n${said}`).toEqual([...entry.expected].sort());
    for (const f of failures) {
      expect(f.message.length).toBeGreaterThan(5);
      expect(f.evidence.length).toBeGreaterThan(0);
      // The evidence comes from the text: never made up.
      const shown = f.evidence.replace(/…$/, '');
      if (f.kind === 'blank') expect(showWhitespace(entry.text).startsWith(shown)).toBe(true);
      else if (f.kind === 'debris') {
        const lines = entry.text.split('\n');
        for (const m of shown.matchAll(/line (\d+): (.*?)(?= · line \d+: |$)/g)) expect(lines[Number(m[1]) - 1].trim().startsWith(m[2])).toBe(true);
      } else if (f.kind === 'refusal') expect(entry.text).toContain(shown);
      // A repeated span is the words of the text (punctuation between them dropped), a character loop its characters.
      else expect(entry.text.includes(shown) || shown.split(' ').every((w) => entry.text.includes(w))).toBe(true);
    }
  });
});
