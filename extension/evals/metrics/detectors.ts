// Failure detectors for model summaries: refusal, blank / near-blank output, repetition. Each returns its evidence
// (the matched span, the repeated span, the offending text) so the views can show why a sample was flagged.
// The word-based detectors take the text's words (`words(text)`) when the caller has them already.

import { ngramCounts } from './rouge';
import { formatDecimal, formatPercent } from '../../format';

export type FailureKind = 'refusal' | 'blank' | 'repetition';

export interface Failure {
  kind: FailureKind;
  /** One line for people: what was found. */
  message: string;
  /** The text that triggered the flag (the refusal phrase, the repeated span, the near-blank output). */
  evidence: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Words

/** Words as people count them: runs of letters/digits, with inner apostrophes and hyphens. */
export function words(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu) ?? [];
}

export function wordCount(text: string): number {
  return words(text).length;
}

// ---------------------------------------------------------------------------------------------------------------
// Refusal

const A = "['’]"; // straight or curly apostrophe
const REFUSAL_PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'sorry-but', re: new RegExp(`\\bI${A}?(?:m| am) (?:very |so |really )?sorry,? but\\b[^.!?\\n]{0,120}`, 'i') },
  { name: 'apologize-but', re: new RegExp(`\\bI apologi[sz]e,? but\\b[^.!?\\n]{0,120}`, 'i') },
  { name: 'as-an-ai', re: /\bas an AI(?: (?:language model|assistant|model|chatbot))?\b[^.!?\n]{0,120}/i },
  {
    name: 'cannot-verb',
    re: new RegExp(
      `\\bI (?:cannot|can${A}?t|can not|won${A}?t|will not|am unable to|${A}m unable to|am not able to|${A}m not able to|do not|don${A}t) ` +
        `(?:help|assist|provide|comply|complete|fulfil+|do (?:that|this)|process|access|read|open|create|generate|write|produce|summari[sz]e|condense)\\b[^.!?\\n]{0,120}`,
      'i',
    ),
  },
  { name: 'unable-to', re: new RegExp(`\\bI(?:${A}m| am) (?:unable|not able) to\\b[^.!?\\n]{0,120}`, 'i') },
  { name: 'cannot-summarize', re: /\b(?:cannot|can['’]?t|unable to) (?:be )?summari[sz]e(?:d)?\b[^.!?\n]{0,120}/i },
  { name: 'must-decline', re: /\bI (?:must|have to|will) (?:respectfully )?(?:decline|refuse)\b[^.!?\n]{0,120}/i },
  { name: 'not-comfortable', re: new RegExp(`\\bI(?:${A}m| am) not (?:comfortable|allowed|permitted|able)\\b[^.!?\\n]{0,120}`, 'i') },
  {
    name: 'no-access',
    re: new RegExp(`\\bI (?:do not|don${A}t) have (?:access to|the ability to)\\b[^.!?\\n]{0,120}`, 'i'),
  },
  { name: 'too-long', re: /\b(?:is|are) too long (?:for me )?to (?:summari[sz]e|process|read)\b[^.!?\n]{0,120}/i },
  { name: 'no-document', re: /\b(?:you )?(?:have not|haven['’]t|did not|didn['’]t) (?:provided?|include[d]?|share[d]?) (?:any |the )?(?:text|document|content)\b[^.!?\n]{0,80}/i },
];

export interface RefusalOptions {
  /** Only look this many characters into the output (refusals come first); the whole output when it is short. */
  searchChars?: number;
}

export interface RefusalResult {
  refused: boolean;
  pattern?: string;
  /** The matched span, trimmed. */
  span?: string;
  index?: number;
}

export function detectRefusal(text: string, options: RefusalOptions = {}): RefusalResult {
  const limit = options.searchChars ?? 400;
  const head = text.length <= limit ? text : text.slice(0, limit);
  for (const { name, re } of REFUSAL_PATTERNS) {
    const m = re.exec(head);
    if (m) return { refused: true, pattern: name, span: m[0].trim(), index: m.index };
  }
  return { refused: false };
}

// ---------------------------------------------------------------------------------------------------------------
// Blank

export interface BlankOptions {
  /** Fewer words than this is near-blank. Default 5. */
  minWords?: number;
}

export type BlankKind = 'empty' | 'whitespace' | 'punctuation' | 'too-short';

export interface BlankResult {
  blank: boolean;
  kind?: BlankKind;
  words: number;
}

export function detectBlank(text: string, options: BlankOptions = {}, textWords = words(text)): BlankResult {
  const minWords = options.minWords ?? 5;
  const n = textWords.length;
  if (text.length === 0) return { blank: true, kind: 'empty', words: 0 };
  if (text.trim().length === 0) return { blank: true, kind: 'whitespace', words: 0 };
  if (n === 0) return { blank: true, kind: 'punctuation', words: 0 };
  if (n < minWords) return { blank: true, kind: 'too-short', words: n };
  return { blank: false, words: n };
}

// ---------------------------------------------------------------------------------------------------------------
// Repetition

export interface RepetitionOptions {
  /** n of the repeated n-gram rate. Default 4. */
  n?: number;
  /** Flag when the share of n-grams that repeat an earlier one is at least this. Default 0.3. */
  maxRepeatedNgramRate?: number;
  /**
   * Flag when a span of at least this many words occurs twice (not overlapping) and its copies make up at least
   * minRepeatedSpanShare of the output. Default 15.
   */
  maxRepeatedSpanWords?: number;
  /** Default 0.2: a long quote repeated once in a long summary is not a loop. */
  minRepeatedSpanShare?: number;
  /** Flag when distinct-2 falls below this (with at least 20 words). Default 0.4. */
  minDistinct2?: number;
  /** Words considered (from the start). Default 4000. */
  maxWords?: number;
}

export interface RepetitionStats {
  words: number;
  n: number;
  /** (n-grams − distinct n-grams) / n-grams: 0 for no repeats, towards 1 for a loop. */
  repeatedNgramRate: number;
  distinct1: number;
  distinct2: number;
  /** Longest span of words occurring twice without overlapping itself. */
  longestRepeatedSpanWords: number;
  longestRepeatedSpan: string;
  /** How often that span occurs in the whole output. */
  longestRepeatedSpanCount: number;
  /** Share of the words covered by the copies of that span. */
  longestRepeatedSpanShare: number;
  flagged: boolean;
  reasons: string[];
}

/** Distinct n-grams / n-grams (1 when there is none). Words hold no spaces, so ngramCounts' keys are distinct. */
function distinctRatio(tokens: string[], n: number): number {
  const total = tokens.length - n + 1;
  return total <= 0 ? 1 : ngramCounts(tokens, n).size / total;
}

/** Longest repeated non-overlapping span of `ids` (suffix DP over pairs, O(n²) time, O(n) memory). */
export function longestRepeatedSpan(ids: ArrayLike<number>): { length: number; first: number; second: number } {
  const n = ids.length;
  let best = { length: 0, first: -1, second: -1 };
  // dp[j] = length of the common run starting at i and j (j > i), rolled over i from the end.
  let next = new Uint32Array(n + 1);
  let cur = new Uint32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    cur.fill(0);
    for (let j = n - 1; j > i; j--) {
      if (ids[i] === ids[j]) {
        const run = next[j + 1] + 1;
        cur[j] = run;
        const len = Math.min(run, j - i);
        if (len > best.length || (len === best.length && len > 0 && i < best.first)) best = { length: len, first: i, second: j };
      }
    }
    [next, cur] = [cur, next];
  }
  return best;
}

export function repetitionStats(text: string, options: RepetitionOptions = {}, textWords = words(text)): RepetitionStats {
  const n = options.n ?? 4;
  const maxRate = options.maxRepeatedNgramRate ?? 0.3;
  const maxSpan = options.maxRepeatedSpanWords ?? 15;
  const minD2 = options.minDistinct2 ?? 0.4;
  const original = textWords.slice(0, options.maxWords ?? 4000);
  const lower = original.map((w) => w.toLowerCase());
  const total = lower.length - n + 1;
  const repeatedNgramRate = total > 0 ? 1 - distinctRatio(lower, n) : 0;
  const distinct1 = lower.length ? new Set(lower).size / lower.length : 1;
  const distinct2 = distinctRatio(lower, 2);

  const vocab = new Map<string, number>();
  const ids = lower.map((w) => {
    let id = vocab.get(w);
    if (id === undefined) vocab.set(w, (id = vocab.size));
    return id;
  });
  const span = longestRepeatedSpan(ids);
  const spanWords = span.length > 0 ? original.slice(span.first, span.first + span.length) : [];
  let count = 0;
  if (span.length > 0) {
    const key = lower.slice(span.first, span.first + span.length);
    for (let i = 0; i + key.length <= lower.length; ) {
      let match = true;
      for (let k = 0; k < key.length; k++) if (lower[i + k] !== key[k]) { match = false; break; }
      if (match) { count++; i += key.length; } else i++;
    }
  }

  const reasons: string[] = [];
  if (total > 0 && repeatedNgramRate >= maxRate) reasons.push(`${formatPercent(repeatedNgramRate, 0)} of ${n}-grams repeat`);
  const spanShare = lower.length ? (span.length * count) / lower.length : 0;
  if (span.length >= maxSpan && spanShare >= (options.minRepeatedSpanShare ?? 0.2)) {
    reasons.push(`a ${span.length}-word span occurs ${count} times (${formatPercent(spanShare, 0)} of the words)`);
  }
  if (lower.length >= 20 && distinct2 < minD2) reasons.push(`distinct-2 is ${formatDecimal(distinct2)}`);
  return {
    words: lower.length,
    n,
    repeatedNgramRate,
    distinct1,
    distinct2,
    longestRepeatedSpanWords: span.length,
    longestRepeatedSpan: spanWords.join(' '),
    longestRepeatedSpanCount: count,
    longestRepeatedSpanShare: spanShare,
    flagged: reasons.length > 0,
    reasons,
  };
}

// ---------------------------------------------------------------------------------------------------------------

export interface DetectorOptions {
  refusal?: RefusalOptions;
  blank?: BlankOptions;
  repetition?: RepetitionOptions;
}

export interface Detections {
  refusal: RefusalResult;
  blank: BlankResult;
  repetition: RepetitionStats;
  failures: Failure[];
}

function clip(text: string, max = 300): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}

/** Runs every detector and lists the failures with their evidence. */
export function detectFailures(text: string, options: DetectorOptions = {}, textWords = words(text)): Detections {
  const refusal = detectRefusal(text, options.refusal);
  const blank = detectBlank(text, options.blank, textWords);
  const repetition = repetitionStats(text, options.repetition, textWords);
  const failures: Failure[] = [];
  if (refusal.refused) failures.push({ kind: 'refusal', message: `refusal (${refusal.pattern})`, evidence: clip(refusal.span ?? '') });
  if (blank.blank) {
    const what = { empty: 'empty output', whitespace: 'whitespace only', punctuation: 'no words, only punctuation', 'too-short': `only ${blank.words} word(s)` }[blank.kind!];
    failures.push({ kind: 'blank', message: what, evidence: JSON.stringify(clip(text, 120)) });
  }
  if (repetition.flagged) {
    failures.push({ kind: 'repetition', message: repetition.reasons.join('; '), evidence: clip(repetition.longestRepeatedSpan) });
  }
  return { refusal, blank, repetition, failures };
}
