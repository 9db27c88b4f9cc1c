// Failure detectors for model summaries: refusal, blank / near-blank output (whitespace or symbols), repetition
// (word loops, character loops, text that compresses too well) and code debris in prose. Each returns its evidence
// (the matched span, the repeated span, the offending lines) so the views can show why a sample was flagged.
// The word-based detectors take the text's words (`words(text)`) when the caller has them already.
// test/evals/detector-corpus.json holds real degenerate answers and good summaries every default must keep apart.

import { deflateRawSync } from 'node:zlib';
import { ngramCounts } from './rouge';
import { formatDecimal, formatNoun, formatPercent } from '../../format';

export type FailureKind = 'refusal' | 'blank' | 'repetition' | 'debris';

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
  /** Mostly whitespace from this share of the characters on. Default 0.5 (prose is about 0.15, a bullet list 0.2). */
  maxWhitespaceShare?: number;
  /**
   * Mostly whitespace, too, from this share of the lines being empty, with at least 10 of them: a few lines of text
   * between runs of blank lines. Default 0.5 (a list with a blank line between its items stays under it).
   */
  maxEmptyLineShare?: number;
  /**
   * Mostly symbols from this share of the non-space characters being neither letters nor digits. Default 0.5
   * (prose is under 0.05, a list of figures such as "2019: 4.1 %, 2020: 3.8 %" about 0.35).
   */
  maxSymbolShare?: number;
}

export type BlankKind = 'empty' | 'whitespace' | 'punctuation' | 'too-short' | 'mostly-whitespace' | 'symbols';

export interface BlankResult {
  blank: boolean;
  kind?: BlankKind;
  words: number;
  /** Whitespace characters ÷ characters (0 for an empty text). */
  whitespaceShare?: number;
  /** Characters neither letter, digit nor whitespace ÷ non-space characters (0 when there is none). */
  symbolShare?: number;
  /** Whitespace characters before the first other character. */
  leadingWhitespace?: number;
  /** Empty (or whitespace-only) lines, and all lines. */
  emptyLines?: number;
  lines?: number;
}

export function detectBlank(text: string, options: BlankOptions = {}, textWords = words(text)): BlankResult {
  const minWords = options.minWords ?? 5;
  const n = textWords.length;
  if (text.length === 0) return { blank: true, kind: 'empty', words: 0 };
  if (text.trim().length === 0) return { blank: true, kind: 'whitespace', words: 0 };
  const chars = [...text];
  const space = chars.filter((c) => /\s/u.test(c)).length;
  const symbols = chars.filter((c) => !/[\s\p{L}\p{N}]/u.test(c)).length;
  const lines = text.split('\n');
  const stats = {
    words: n,
    whitespaceShare: space / chars.length,
    symbolShare: symbols / (chars.length - space),
    leadingWhitespace: text.length - text.trimStart().length,
    emptyLines: lines.filter((l) => l.trim() === '').length,
    lines: lines.length,
  };
  const emptyLineShare = stats.emptyLines / stats.lines;
  if (n === 0) return { blank: true, kind: 'punctuation', ...stats };
  if (n < minWords) return { blank: true, kind: 'too-short', ...stats };
  if (stats.whitespaceShare >= (options.maxWhitespaceShare ?? 0.5) || (stats.emptyLines >= 10 && emptyLineShare >= (options.maxEmptyLineShare ?? 0.5))) {
    return { blank: true, kind: 'mostly-whitespace', ...stats };
  }
  if (stats.symbolShare >= (options.maxSymbolShare ?? 0.5)) return { blank: true, kind: 'symbols', ...stats };
  return { blank: false, ...stats };
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
  /**
   * Flag when distinct-1 (distinct words ÷ words) falls below this (with at least 20 words) in the whole text or, in
   * a longer one, in its least varied window of 200 words (a long text repeats its words more). Default 0.3.
   */
  minDistinct1?: number;
  /** Words considered (from the start). Default 4000. */
  maxWords?: number;
  /**
   * Flag when the text (whitespace runs as one space) or, in a longer one, its most compressible 1,000 characters
   * deflate to less than this share of their bytes. Default 0.3: prose and lists deflate to 0.35–0.7, a loop to
   * under 0.2.
   */
  minCompressionRatio?: number;
  /** Only texts of at least this many bytes (whitespace runs as one space) get a compression ratio. Default 64. */
  minCompressionBytes?: number;
  /**
   * Flag a stretch of at least this many characters that repeats a unit holding a letter or digit at least 4 times
   * ("0x0x0x…", "2000000000…"). Default 20 (a figure such as "1,000,000,000,000" is 17).
   */
  minPeriodicChars?: number;
  /** The longest unit such a stretch repeats. Default 32. */
  maxPeriod?: number;
}

export interface RepetitionStats {
  words: number;
  n: number;
  /** (n-grams − distinct n-grams) / n-grams: 0 for no repeats, towards 1 for a loop. */
  repeatedNgramRate: number;
  distinct1: number;
  distinct2: number;
  /** distinct-1 of the least varied window of 200 words (of the whole text when it is shorter), and where it starts. */
  windowDistinct1: number;
  windowDistinct1Start: number;
  /** Longest span of words occurring twice without overlapping itself. */
  longestRepeatedSpanWords: number;
  longestRepeatedSpan: string;
  /** How often that span occurs in the whole output. */
  longestRepeatedSpanCount: number;
  /** Share of the words covered by the copies of that span. */
  longestRepeatedSpanShare: number;
  /** Deflated ÷ raw bytes of the text's most compressible 1,000 characters (whitespace runs as one space); absent for short texts. */
  compressionRatio?: number;
  /** The longest stretch of characters repeating a short unit of letters or digits. */
  periodicRun?: PeriodicRun;
  /** That stretch is long enough to flag the text (a character-level loop). */
  periodicLoop: boolean;
  flagged: boolean;
  reasons: string[];
}

/** Distinct n-grams / n-grams (1 when there is none). Words hold no spaces, so ngramCounts' keys are distinct. */
function distinctRatio(tokens: string[], n: number): number {
  const total = tokens.length - n + 1;
  return total <= 0 ? 1 : ngramCounts(tokens, n).size / total;
}

export interface PeriodicRun {
  /** The repeated unit, as it first occurs. */
  unit: string;
  /** Character offset of the stretch in the text. */
  start: number;
  /** Characters of the stretch (whole copies and a partial last one). */
  length: number;
  /** Whole copies of the unit in the stretch. */
  copies: number;
}

/**
 * The longest stretch of `text` (its first maxChars) holding at least minCopies copies of a unit of at most maxPeriod
 * characters with a letter or digit in it (rules of dashes are markdown, runs of whitespace are the blank detector's).
 * The shortest unit wins among equally long stretches, so "0000" has the unit "0".
 */
export function longestPeriodicRun(text: string, maxPeriod = 32, minCopies = 4, maxChars = 20000): PeriodicRun | undefined {
  const s = text.length > maxChars ? text.slice(0, maxChars) : text;
  let best: PeriodicRun | undefined;
  for (let p = 1; p <= maxPeriod && 2 * p <= s.length; p++) {
    // run = characters i with s[i] === s[i + p] in a row; the stretch is the run plus one unit.
    let run = 0;
    for (let i = 0; i + p <= s.length; i++) {
      if (i + p < s.length && s[i] === s[i + p]) {
        run++;
        continue;
      }
      const start = i - run;
      const length = run + p;
      if (length >= minCopies * p && (!best || length > best.length)) {
        const unit = s.slice(start, start + p);
        if (/[\p{L}\p{N}]/u.test(unit)) best = { unit, start, length, copies: Math.floor(length / p) };
      }
      run = 0;
    }
  }
  return best;
}

/**
 * The least of f over windows of `size` (half-overlapping, the last one flush with the end), with where it starts;
 * f of the whole when the length is no longer than one window.
 */
function leastWindow(length: number, size: number, f: (start: number, end: number) => number): { value: number; start: number } {
  if (length <= size) return { value: f(0, length), start: 0 };
  let best = { value: Infinity, start: 0 };
  const step = Math.max(1, Math.floor(size / 2));
  for (let start = 0; ; start = Math.min(start + step, length - size)) {
    const value = f(start, start + size);
    if (value < best.value) best = { value, start };
    if (start === length - size) return best;
  }
}

/**
 * Deflated ÷ raw size of `text` with its whitespace runs as one space, or of its most compressible `window`
 * characters when it is longer; undefined under minBytes.
 */
export function compressionRatio(text: string, minBytes = 64, window = 1000): number | undefined {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(flat, 'utf8') < minBytes) return undefined;
  return leastWindow(flat.length, window, (start, end) => {
    const bytes = Buffer.from(flat.slice(start, end), 'utf8');
    return deflateRawSync(bytes, { level: 9 }).length / bytes.length;
  }).value;
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
  const window = leastWindow(lower.length, 200, (start, end) => (end > start ? new Set(lower.slice(start, end)).size / (end - start) : 1));
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
  if (lower.length >= 20 && window.value < (options.minDistinct1 ?? 0.3)) {
    const size = Math.min(200, lower.length);
    const where = lower.length > 200 ? ` (words ${window.start + 1}–${window.start + size})` : '';
    reasons.push(`${Math.round(window.value * size)} distinct words in ${size}${where}: distinct-1 ${formatDecimal(window.value)}`);
  }
  const periodicRun = longestPeriodicRun(text, options.maxPeriod ?? 32);
  const periodicLoop = periodicRun !== undefined && periodicRun.length >= (options.minPeriodicChars ?? 20);
  if (periodicLoop) {
    reasons.push(`${JSON.stringify(periodicRun.unit)} repeats ${periodicRun.copies} times from character ${periodicRun.start + 1}`);
  }
  const ratio = compressionRatio(text, options.minCompressionBytes ?? 64);
  if (ratio !== undefined && ratio < (options.minCompressionRatio ?? 0.3)) reasons.push(`it deflates to ${formatPercent(ratio, 0)} of its size`);
  return {
    words: lower.length,
    n,
    repeatedNgramRate,
    distinct1,
    distinct2,
    windowDistinct1: window.value,
    windowDistinct1Start: window.start,
    longestRepeatedSpanWords: span.length,
    longestRepeatedSpan: spanWords.join(' '),
    longestRepeatedSpanCount: count,
    longestRepeatedSpanShare: spanShare,
    ...(ratio !== undefined ? { compressionRatio: ratio } : {}),
    ...(periodicRun ? { periodicRun } : {}),
    periodicLoop,
    flagged: reasons.length > 0,
    reasons,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Code debris in a prose summary

export interface DebrisOptions {
  /** Flag at least this many lines that look like code… Default 2. */
  minCodeLines?: number;
  /** …when they are at least this share of the non-empty lines. Default 0.3. */
  minCodeLineShare?: number;
  /** Or flag when code symbols ({ } [ ] ; = < > \\) are at least this share of the non-space characters. Default 0.08. */
  maxCodeSymbolShare?: number;
  /** …and there are at least this many of them. Default 6. */
  minCodeSymbols?: number;
}

export interface DebrisResult {
  flagged: boolean;
  /** Non-empty lines, and those that look like code (`inline code` left out). */
  lines: number;
  codeLines: number;
  /** Code symbols ÷ non-space characters. */
  codeSymbolShare: number;
  /** The first lines that look like code or hold code symbols, with their line numbers (1-based). */
  examples: { line: number; text: string }[];
}

const CODE_SYMBOL = /[{}[\];=<>\\]/g;
/** A line of code: a statement end, a lone bracket, a keyword statement, an operator of code, an assignment. */
const CODE_LINE = [
  /[;{]\s*$/,
  /^[\s})\]]*[})\]][\s})\];,]*$/,
  /^\s*(?:def|class|import|from|return|const|let|var|function|fn|pub|elif|else|for|while|if|try|except|catch|switch|case|package|using|namespace|#include|#define)\b.*[(){}=:;]/,
  /=>|==|!=|:=|::|&&|\|\||\+=|\w\[\w*\]|^\s*[\w.]+\s*=\s*\S/,
  /^\s*(?:0x[0-9a-f]+\s*,?\s*)+$/i,
];
/** Four words in a row: a line of prose, even where it ends like code ("- had not been evaluated since 2012;"). */
const PROSE_RUN = /\p{L}{2,}[ ,]+\p{L}{2,}[ ,]+\p{L}{2,}[ ,]+\p{L}{2,}/u;

export function detectDebris(text: string, options: DebrisOptions = {}): DebrisResult {
  // Inline `code` is how prose names code, and a markdown table's bars are not code either.
  const prose = text.replace(/`[^`\n]+`/g, 'code');
  const lines = prose.split('\n');
  const original = text.split('\n');
  const examples: DebrisResult['examples'] = [];
  let nonEmpty = 0;
  let codeLines = 0;
  lines.forEach((line, i) => {
    if (!line.trim() || /^\s*```/.test(line)) return;
    nonEmpty++;
    const code = !PROSE_RUN.test(line) && CODE_LINE.some((re) => re.test(line));
    if (code) codeLines++;
    if ((code || (line.match(CODE_SYMBOL) ?? []).length >= 2) && examples.length < 3) examples.push({ line: i + 1, text: original[i].trim() });
  });
  const nonSpace = prose.replace(/\s+/g, '').length;
  const symbols = (prose.match(CODE_SYMBOL) ?? []).length;
  const codeSymbolShare = nonSpace ? symbols / nonSpace : 0;
  const byLines = codeLines >= (options.minCodeLines ?? 2) && codeLines / Math.max(1, nonEmpty) >= (options.minCodeLineShare ?? 0.3);
  const bySymbols = symbols >= (options.minCodeSymbols ?? 6) && codeSymbolShare >= (options.maxCodeSymbolShare ?? 0.08);
  return { flagged: byLines || bySymbols, lines: nonEmpty, codeLines, codeSymbolShare, examples };
}

export interface DetectorOptions {
  refusal?: RefusalOptions;
  blank?: BlankOptions;
  repetition?: RepetitionOptions;
  debris?: DebrisOptions;
}

export interface Detections {
  refusal: RefusalResult;
  blank: BlankResult;
  repetition: RepetitionStats;
  debris: DebrisResult;
  failures: Failure[];
}

function clip(text: string, max = 300): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…';
}

/** Whitespace made visible for evidence: a line break is ⏎, longer runs are counted ("⟨40 line breaks⟩", "⟨4 tabs⟩"). */
export function showWhitespace(text: string): string {
  return text.replace(/\s{2,}|\n/g, (run) => {
    const breaks = run.split('\n').length - 1;
    if (breaks >= 2) return `⟨${breaks} line breaks⟩`;
    if (breaks === 1) return '⏎';
    return /^ +$/.test(run) ? (run.length === 2 ? '  ' : `⟨${run.length} spaces⟩`) : `⟨${run.length} ${/^\t+$/.test(run) ? 'tabs' : 'blanks'}⟩`;
  });
}

function blankMessage(b: BlankResult, length: number): string {
  const lead = b.leadingWhitespace ? ` after ${formatNoun(b.leadingWhitespace, 'whitespace character')}` : '';
  switch (b.kind!) {
    case 'empty':
      return 'empty output';
    case 'whitespace':
      return `whitespace only (${length} characters)`;
    case 'punctuation':
      return `no words, only symbols${lead}`;
    case 'too-short':
      return `only ${formatNoun(b.words, 'word')}${lead}`;
    case 'mostly-whitespace':
      return `mostly whitespace: ${formatPercent(b.whitespaceShare, 0)} of ${length} characters, ${b.emptyLines} of ${b.lines} lines empty`;
    case 'symbols':
      return `mostly symbols: ${formatPercent(b.symbolShare, 0)} of the non-space characters are neither letters nor digits`;
  }
}

/** Runs every detector and lists the failures with their evidence. */
export function detectFailures(text: string, options: DetectorOptions = {}, textWords = words(text)): Detections {
  const refusal = detectRefusal(text, options.refusal);
  const blank = detectBlank(text, options.blank, textWords);
  const repetition = repetitionStats(text, options.repetition, textWords);
  const debris = detectDebris(text, options.debris);
  const failures: Failure[] = [];
  if (refusal.refused) failures.push({ kind: 'refusal', message: `refusal (${refusal.pattern})`, evidence: clip(refusal.span ?? '') });
  if (blank.blank) failures.push({ kind: 'blank', message: blankMessage(blank, text.length), evidence: clip(showWhitespace(text), 160) || '(nothing)' });
  if (repetition.flagged) {
    const run = repetition.periodicRun;
    const evidence = run && repetition.periodicLoop ? text.slice(run.start, run.start + run.length) : repetition.longestRepeatedSpan || text;
    failures.push({ kind: 'repetition', message: repetition.reasons.join('; '), evidence: clip(evidence) });
  }
  // Debris in a blank output is the blank detector's (an output of only braces has no prose to be debris in).
  if (debris.flagged && !blank.blank) {
    const where = debris.examples.map((e) => `line ${e.line}: ${e.text}`).join(' · ');
    const message = `code in a prose summary: ${debris.codeLines} of ${debris.lines} lines look like code, code symbols are ${formatPercent(debris.codeSymbolShare, 0)} of the characters`;
    failures.push({ kind: 'debris', message, evidence: clip(where || text) });
  }
  return { refusal, blank, repetition, debris, failures };
}
