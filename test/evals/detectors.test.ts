import { describe, expect, it } from 'vitest';
import {
  compressionRatio,
  detectBlank,
  detectDebris,
  detectFailures,
  detectRefusal,
  longestPeriodicRun,
  repetitionStats,
  showWhitespace,
} from '../../extension/evals/metrics/detectors';

const NORMAL = [
  'The report reviews how federal agencies used emergency powers between 2001 and 2020. It finds that most ' +
    'declarations were renewed without congressional review, and recommends that Congress require periodic votes ' +
    'on national emergencies that last longer than one year.',
  'Mixture-of-experts models route every token to a few experts chosen by a learned gate. This summary explains ' +
    'how the router scores experts, why load balancing losses matter during training, and how sparse activation ' +
    'keeps inference cheap even when the total parameter count is large.',
  // Mentions an inability in the content, far from the start: not a refusal of the task.
  'The agency reviewed 42 programs in detail and found that reporting requirements varied widely between them. ' +
    'Officials described staffing shortages, outdated systems and unclear guidance as the main obstacles to ' +
    'consistent oversight. Several regional offices lacked trained auditors, and two programs had not been ' +
    'evaluated since 2012. The report recommends clearer guidance, a shared reporting system and annual reviews ' +
    'of every program. One official said, "I am unable to verify those figures," about a contractor database.',
];

describe('refusal detector', () => {
  it.each([
    ["I'm sorry, but I can't help with summarizing this document.", 'sorry-but'],
    ['I’m sorry, but the text is too long for me to process.', 'sorry-but'],
    ['As an AI language model, I do not have opinions about this report.', 'as-an-ai'],
    ['I cannot summarize this document because it contains sensitive content.', 'cannot-verb'],
    ["I can't assist with that.", 'cannot-verb'],
    ["I'm unable to open attachments or read files.", 'unable-to'],
    ['Unfortunately I am not able to provide a summary of this text.', 'cannot-verb'],
    ['I apologize, but this request falls outside what I can do.', 'apologize-but'],
    ['I must decline to summarize confidential material.', 'must-decline'],
    ['This document cannot be summarized in a few sentences.', 'cannot-summarize'],
  ])('flags %j', (text, pattern) => {
    const r = detectRefusal(text);
    expect(r.refused).toBe(true);
    expect(r.pattern).toBe(pattern);
    expect(text).toContain(r.span!);
    expect(r.span!.length).toBeGreaterThan(5);
  });

  it('returns the matched span as evidence', () => {
    const r = detectRefusal('Sure. Actually, as an AI model I cannot read PDFs. Anyway');
    expect(r.refused).toBe(true);
    expect(r.span).toMatch(/^as an AI model/);
  });

  it.each(NORMAL)('does not flag a normal summary (%#)', (text) => {
    expect(detectRefusal(text).refused).toBe(false);
    expect(detectFailures(text).failures).toEqual([]);
  });
});

describe('blank detector', () => {
  it('empty', () => expect(detectBlank('')).toEqual({ blank: true, kind: 'empty', words: 0 }));
  it('whitespace only', () => expect(detectBlank(' \n\t  \n').kind).toBe('whitespace'));
  it('only punctuation', () => expect(detectBlank('... --- !!!').kind).toBe('punctuation'));
  it('too few words', () => {
    const r = detectBlank('Summary: none.');
    expect(r).toMatchObject({ blank: true, kind: 'too-short', words: 2 });
  });
  it('respects minWords', () => expect(detectBlank('One two three.', { minWords: 3 }).blank).toBe(false));
  it('a normal summary is not blank', () => expect(detectBlank(NORMAL[0]).blank).toBe(false));
  it('detectFailures reports the blank output as evidence', () => {
    const f = detectFailures('   ').failures;
    expect(f).toHaveLength(1);
    expect(f[0].kind).toBe('blank');
    expect(f[0].evidence).toBe('⟨3 spaces⟩');
  });
  it('mostly whitespace: ~40 line breaks, then a few words, says where the words start', () => {
    const text = '\n'.repeat(40) + 'The model routes every token to two experts.' + '\n'.repeat(30);
    const r = detectBlank(text);
    expect(r).toMatchObject({ blank: true, kind: 'mostly-whitespace', words: 8, leadingWhitespace: 40, emptyLines: 70, lines: 71 });
    const f = detectFailures(text).failures;
    expect(f.map((x) => x.kind)).toEqual(['blank']);
    // 40 + 30 line breaks and 7 spaces of 114 characters: 77 / 114.
    expect(f[0].message).toBe('mostly whitespace: 68% of 114 characters, 70 of 71 lines empty');
    expect(f[0].evidence).toBe('⟨40 line breaks⟩The model routes every token to two experts.⟨30 line breaks⟩');
  });
  it('a blank line between list items is not mostly whitespace', () => {
    const text = Array.from({ length: 12 }, (_, i) => `- Item ${i + 1} of the findings, with details.`).join('\n\n');
    expect(detectBlank(text).blank).toBe(false);
  });
  it('mostly symbols, with the share in the message', () => {
    const text = 'Summary of the main points: }}} ]]] ))) ;;; {{{ ### *** %%% &&& ~~~ ||| >>> <<< ((( !!!';
    const r = detectBlank(text);
    expect(r.kind).toBe('symbols');
    // 22 letters (Summary of the main points), 46 symbols (":" and 15 groups of 3): 46 / 68.
    expect(r.symbolShare).toBeCloseTo(46 / 68, 12);
    expect(detectFailures(text).failures.map((f) => f.message)).toEqual(['mostly symbols: 68% of the non-space characters are neither letters nor digits']);
  });
  it('a list of yearly figures is not symbols', () => {
    const text = '2019: 4.1 %, 2020: 3.8 %, 2021: 3.5 %, 2022: 3.6 %, 2023: 3.7 %.';
    expect(detectBlank(text).blank).toBe(false);
    expect(detectFailures(text).failures).toEqual([]);
  });
  it('shows runs of whitespace counted', () => {
    expect(showWhitespace('a\nb\n\n\nc     d  e\t\t\t\tf \t g')).toBe('a⏎b⟨3 line breaks⟩c⟨5 spaces⟩d  e⟨4 tabs⟩f⟨3 blanks⟩g');
    expect(detectFailures('').failures[0]).toEqual({ kind: 'blank', message: 'empty output', evidence: '(nothing)' });
  });
});

describe('repetition detector', () => {
  it('flags a sentence looping', () => {
    const sentence = 'The committee approved the budget for the next fiscal year. ';
    const text = 'Summary: ' + sentence.repeat(8);
    const r = repetitionStats(text);
    expect(r.flagged).toBe(true);
    expect(r.repeatedNgramRate).toBeGreaterThan(0.7);
    // 10 words per sentence × 8 = 80 words; the longest non-overlapping repeat is 4 sentences (40 words).
    expect(r.longestRepeatedSpanWords).toBe(40);
    expect(r.longestRepeatedSpan.startsWith('The committee approved')).toBe(true);
    expect(r.distinct2).toBeLessThan(0.2);
    const failure = detectFailures(text).failures.find((f) => f.kind === 'repetition')!;
    expect(failure.evidence).toContain('The committee approved the budget');
  });

  it('flags a paragraph repeated once', () => {
    const paragraph = NORMAL[1];
    const text = `${paragraph}\n\n${paragraph}`;
    const r = repetitionStats(text);
    expect(r.flagged).toBe(true);
    const paragraphWords = paragraph.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu)!;
    expect(paragraphWords.length).toBe(44);
    expect(r.longestRepeatedSpanWords).toBe(44);
    expect(r.longestRepeatedSpanCount).toBe(2);
    expect(r.longestRepeatedSpan).toBe(paragraphWords.join(' '));
  });

  it('computes rates on a small hand-worked case', () => {
    // words: a b a b a b (6). 4-grams: abab, baba, abab → 3, distinct 2 → repeated rate 1 − 2/3 = 1/3.
    // distinct-1: 2/6; distinct-2: bigrams ab ba ab ba ab → 2 distinct of 5 = 0.4.
    // longest non-overlapping repeat: "a b" at 0 and 2 ("a b a" at 0 and 2 would overlap) → length 2
    const r = repetitionStats('a b a b a b', { maxRepeatedSpanWords: 100 });
    expect(r.repeatedNgramRate).toBeCloseTo(1 / 3, 12);
    expect(r.distinct1).toBeCloseTo(2 / 6, 12);
    expect(r.distinct2).toBeCloseTo(0.4, 12);
    expect(r.longestRepeatedSpanWords).toBe(2);
    expect(r.longestRepeatedSpan).toBe('a b');
  });

  it('does not flag a long phrase quoted twice in a long summary', () => {
    const phrase = 'the extent to which the national strategy addresses the desirable characteristics of a national strategy';
    const text = `${NORMAL[0]} ${NORMAL[1]} It assessed ${phrase}. ${NORMAL[2]} In short, GAO reviewed ${phrase}.`;
    const r = repetitionStats(text);
    expect(r.longestRepeatedSpanWords).toBeGreaterThanOrEqual(15);
    expect(r.longestRepeatedSpanShare).toBeLessThan(0.2);
    expect(r.flagged).toBe(false);
  });

  it('finds the longest periodic stretch with its unit, place and copies', () => {
    // "0x" × 6 from offset 4 ("0x0x0x0x0x0x" = 12 characters), then a lone "0": the stretch with period 2 runs to the end.
    expect(longestPeriodicRun('abc 0x0x0x0x0x0x0 end')).toEqual({ unit: '0x', start: 4, length: 13, copies: 6 });
    // The shortest unit wins: "0000…" is "0" × n, not "00" × n/2.
    expect(longestPeriodicRun('x 00000000 y')).toEqual({ unit: '0', start: 2, length: 8, copies: 8 });
    // Fewer than 4 copies, or units without a letter or digit (markdown rules, whitespace) are not loops.
    expect(longestPeriodicRun('abcabcabc')).toBeUndefined();
    expect(longestPeriodicRun('--------------------------- \n\n\n\n\n\n')).toBeUndefined();
  });

  it('flags a character loop with where it starts', () => {
    const text = 'The gate selects experts. ' + '0x'.repeat(12) + ', and so on.';
    const r = repetitionStats(text);
    expect(r.periodicRun).toEqual({ unit: '0x', start: 26, length: 24, copies: 12 });
    const f = detectFailures(text).failures;
    expect(f.map((x) => x.kind)).toEqual(['repetition']);
    expect(f[0].message).toBe('"0x" repeats 12 times from character 27');
    expect(f[0].evidence).toBe('0x'.repeat(12));
  });

  it('compression ratio: prose deflates to about half, a loop to a fifth; short texts have none', () => {
    expect(compressionRatio(NORMAL[2])!).toBeGreaterThan(0.45);
    expect(compressionRatio('It loops. '.repeat(20))!).toBeLessThan(0.2);
    expect(compressionRatio('A short answer.')).toBeUndefined();
    // A long text: its most compressible 1,000 characters (here the loop at its end).
    const long = `${NORMAL.join(' ')} ${'It loops. '.repeat(100)}`;
    expect(compressionRatio(long)!).toBeLessThan(0.2);
    expect(compressionRatio(long, 64, 1_000_000)!).toBeGreaterThan(0.2);
    // Whitespace runs count as one space: forty line breaks do not make prose compressible.
    expect(compressionRatio(NORMAL[0].replace(/ /g, '\n\n\n\n'))).toBeCloseTo(compressionRatio(NORMAL[0])!, 12);
  });

  it('flags few distinct words', () => {
    const text = 'the model the experts of the model the router the model of the experts the model the router of the model the experts';
    const r = repetitionStats(text);
    expect(r.words).toBe(23);
    expect(r.distinct1).toBeCloseTo(5 / 23, 12);
    expect(r.windowDistinct1).toBeCloseTo(5 / 23, 12);
    expect(r.reasons).toContain('5 distinct words in 23: distinct-1 0.22');
  });

  it('judges distinct words of a long text in windows of 200 words, saying where', () => {
    // 400 different words, then a 200-word loop of 4 words: the whole has distinct-1 404 / 600, the loop's window 4 / 200.
    const text = `${Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ')} ${'one two three four '.repeat(50)}`;
    const r = repetitionStats(text, { maxRepeatedSpanWords: 1000, maxRepeatedNgramRate: 1, minDistinct2: 0 });
    expect(r.distinct1).toBeCloseTo(404 / 600, 12);
    expect(r.windowDistinct1).toBeCloseTo(4 / 200, 12);
    expect(r.windowDistinct1Start).toBe(400);
    expect(r.reasons).toContain('4 distinct words in 200 (words 401–600): distinct-1 0.02');
  });

  it.each(NORMAL)('does not flag a normal summary (%#)', (text) => {
    const r = repetitionStats(text);
    expect(r.flagged).toBe(false);
    expect(r.repeatedNgramRate).toBeLessThan(0.05);
  });
});

describe('code debris detector', () => {
  it('flags code lines in a prose summary, with their line numbers', () => {
    const text = 'The file defines the router.\n    def forward(self, x):\n        return self.gate(x);\n    }\n});';
    const r = detectDebris(text);
    expect(r).toMatchObject({ flagged: true, lines: 5, codeLines: 4 });
    expect(r.examples).toEqual([
      { line: 2, text: 'def forward(self, x):' },
      { line: 3, text: 'return self.gate(x);' },
      { line: 4, text: '}' },
    ]);
    const f = detectFailures(text).failures;
    expect(f.map((x) => x.kind)).toEqual(['debris']);
    expect(f[0].evidence).toBe('line 2: def forward(self, x): · line 3: return self.gate(x); · line 4: }');
  });

  it('code named in backticks, list items ending in semicolons and markdown tables are prose', () => {
    for (const text of [
      'The runner calls `runEval()` for each model and writes `report.md`; `loadSuite(file)` reads `suite.yaml` = the settings.',
      'The agency:\n- lacked trained auditors in three offices;\n- had not evaluated two programs since 2012;\n- kept no records.',
      '| Year | Rate |\n|---|---:|\n| 2019 | 4.1 % |\n| 2020 | 3.8 % |',
    ]) {
      expect(detectDebris(text)).toMatchObject({ flagged: false, codeLines: 0 });
    }
  });

  it('a blank output of braces is blank, not debris', () => {
    expect(detectFailures('}\n});\n]);').failures.map((f) => f.kind)).toEqual(['blank']);
  });
});
