// Building the "summarize this selection" prompt, trimmed to fit the context (no vscode import).
import type { ChatMessage } from '../engine/types';
import type { CountTokens } from './context';

export interface SelectionInput {
  fileName: string;
  languageId: string;
  code: string;
  /** 1-based first line of the selection in the file. */
  startLine: number;
}

export interface SummarizePrompt {
  /** What the model gets. */
  content: string;
  /** Short label shown in the transcript. */
  display: string;
  notes: string[];
  /** The part of the selection that made it into the prompt, and its lines. */
  code: string;
  keptLines: number;
  totalLines: number;
}

const FENCE_CHARS = /`{3,}/g;

function fenceFor(code: string): string {
  let longest = 2;
  for (const m of code.match(FENCE_CHARS) ?? []) longest = Math.max(longest, m.length);
  return '`'.repeat(longest + 1);
}

export function baseName(fileName: string): string {
  const parts = fileName.split(/[\\/]/);
  return parts[parts.length - 1] || fileName;
}

/** "line 5" or "lines 5–20": how every label and note writes a range of the selection's lines. */
export function formatLineRange(startLine: number, lines: number): string {
  return lines === 1 ? `line ${startLine}` : `lines ${startLine}–${startLine + lines - 1}`;
}

/** Lines of code as the selection counts them: CRLF line ends as LF, trailing newlines dropped. */
export function countLines(code: string): number {
  return normalizeSelection(code).totalLines;
}

/**
 * What the model reads. Its range is written in ASCII: a vocabulary without "–" spells it as three byte tokens,
 * which the token view shows as three pieces of one character.
 */
export function renderSummarizePrompt(sel: SelectionInput, code: string, trimmed: boolean): string {
  const fence = fenceFor(code);
  const lines = countLines(code);
  const range = lines === 1 ? `line ${sel.startLine}` : `lines ${sel.startLine}-${sel.startLine + lines - 1}`;
  const lang = sel.languageId && /^[\w+#.-]+$/.test(sel.languageId) ? sel.languageId : '';
  return [
    `Summarize the following ${sel.languageId || 'code'} from \`${baseName(sel.fileName)}\` (${range}).`,
    'Explain what it does, its inputs and outputs, and anything surprising. Be concise.',
    ...(trimmed ? ['Note: the selection was cut to fit the context; only its beginning is shown.'] : []),
    '',
    `${fence}${lang}`,
    code,
    fence,
  ].join('\n');
}

/** The transcript's label: the selection's range, and how much of it was sent when it was cut. */
export function summarizeLabel(sel: SelectionInput, keptLines: number, totalLines: number): string {
  const cut = keptLines < totalLines ? ` (first ${keptLines} of ${totalLines} lines sent)` : '';
  return `Summarize \`${baseName(sel.fileName)}\` ${formatLineRange(sel.startLine, totalLines)}${cut}`;
}

/** What a model that continues text (not an assistant) does with Summarize Selection instead. */
export function continueNote(modelLabel: string): string {
  return `${modelLabel} cannot summarize: it continues text. It is given the code alone and continues it.`;
}

/** The selection as it is sent: CRLF line ends as LF, trailing newlines dropped; and its line count. */
export function normalizeSelection(raw: string): { code: string; totalLines: number } {
  const code = raw.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return { code, totalLines: code.split('\n').length };
}

/**
 * Builds the prompt; when system + prompt exceed `budget` tokens the selection is cut (by lines, or by
 * characters for one huge line) with a binary search over token counts, and a visible note says so.
 * `continues`: the model continues text (not an assistant), so it is given the code alone, with a note naming
 * `modelLabel` that says so.
 */
export async function buildSummarizePrompt(
  sel: SelectionInput,
  system: ChatMessage | undefined,
  budget: number,
  count: CountTokens,
  continues?: { modelLabel: string },
): Promise<SummarizePrompt> {
  const { code, totalLines } = normalizeSelection(sel.code);
  const measure = (text: string) => count([...(system ? [system] : []), { role: 'user', content: text }]);
  const render = (text: string, trimmed: boolean) => (continues ? text : renderSummarizePrompt(sel, text, trimmed));
  const label = (kept: number) => summarizeLabel(sel, kept, totalLines);
  const instead = continues ? [continueNote(continues.modelLabel)] : [];

  const full = render(code, false);
  if ((await measure(full)) <= budget) {
    return { content: full, display: label(totalLines), notes: instead, code, keptLines: totalLines, totalLines };
  }

  // Largest prefix (in characters, snapped to line ends where possible) that fits.
  const fits = async (chars: number) => (await measure(render(code.slice(0, chars), true))) <= budget;
  let lo = 0;
  let hi = code.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (await fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  let cut = lo;
  const lastNewline = code.lastIndexOf('\n', cut);
  if (lastNewline > 0 && code[cut] !== '\n' && cut < code.length) cut = lastNewline;
  if (cut <= 0) {
    throw new Error(`The context is too small to hold even the start of the selection (${budget} tokens available).`);
  }
  const kept = code.slice(0, cut);
  const keptLines = countLines(kept);
  const note =
    keptLines < totalLines
      ? `Selection cut to its first ${keptLines} of ${totalLines} lines (${formatLineRange(sel.startLine, keptLines)}) to fit the model's context.`
      : `Selection cut to its first ${kept.length} of ${code.length} characters to fit the model's context.`;
  return { content: render(kept, true), display: label(keptLines), notes: [...instead, note], code: kept, keptLines, totalLines };
}
