import { describe, expect, it } from 'vitest';
import { detectBlank, detectFailures, detectRefusal, repetitionStats } from '../../extension/evals/metrics/detectors';

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
    expect(r).toEqual({ blank: true, kind: 'too-short', words: 2 });
  });
  it('respects minWords', () => expect(detectBlank('One two three.', { minWords: 3 }).blank).toBe(false));
  it('a normal summary is not blank', () => expect(detectBlank(NORMAL[0]).blank).toBe(false));
  it('detectFailures reports the blank output as evidence', () => {
    const f = detectFailures('   ').failures;
    expect(f).toHaveLength(1);
    expect(f[0].kind).toBe('blank');
    expect(f[0].evidence).toBe('"   "');
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

  it.each(NORMAL)('does not flag a normal summary (%#)', (text) => {
    const r = repetitionStats(text);
    expect(r.flagged).toBe(false);
    expect(r.repeatedNgramRate).toBeLessThan(0.05);
  });
});
