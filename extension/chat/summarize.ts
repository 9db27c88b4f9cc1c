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
  /** Lines of the selection that made it into the prompt. */
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

export function renderSummarizePrompt(sel: SelectionInput, code: string, trimmed: boolean): string {
  const fence = fenceFor(code);
  const lines = code.split('\n').length;
  const endLine = sel.startLine + lines - 1;
  const lang = sel.languageId && /^[\w+#.-]+$/.test(sel.languageId) ? sel.languageId : '';
  return [
    `Summarize the following ${sel.languageId || 'code'} from \`${baseName(sel.fileName)}\` (lines ${sel.startLine}–${endLine}).`,
    'Explain what it does, its inputs and outputs, and anything surprising. Be concise.',
    ...(trimmed ? ['Note: the selection was cut to fit the context; only its beginning is shown.'] : []),
    '',
    `${fence}${lang}`,
    code,
    fence,
  ].join('\n');
}

export function summarizeLabel(sel: SelectionInput, keptLines: number, totalLines: number): string {
  const end = sel.startLine + totalLines - 1;
  const range = totalLines === 1 ? `line ${sel.startLine}` : `lines ${sel.startLine}–${end}`;
  const cut = keptLines < totalLines ? ` (first ${keptLines} lines sent)` : '';
  return `Summarize \`${baseName(sel.fileName)}\` ${range}${cut}`;
}

/** The selection as it is sent: CRLF line ends as LF, trailing newlines dropped; and its line count. */
export function normalizeSelection(raw: string): { code: string; totalLines: number } {
  const code = raw.replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return { code, totalLines: code.split('\n').length };
}

/**
 * Builds the prompt; when system + prompt exceed `budget` tokens the selection is cut (by lines, or by
 * characters for one huge line) with a binary search over token counts, and a visible note says so.
 */
export async function buildSummarizePrompt(
  sel: SelectionInput,
  system: ChatMessage | undefined,
  budget: number,
  count: CountTokens,
): Promise<SummarizePrompt> {
  const { code, totalLines } = normalizeSelection(sel.code);
  const measure = (text: string) => count([...(system ? [system] : []), { role: 'user', content: text }]);

  const full = renderSummarizePrompt(sel, code, false);
  if ((await measure(full)) <= budget) {
    return { content: full, display: summarizeLabel(sel, totalLines, totalLines), notes: [], keptLines: totalLines, totalLines };
  }

  // Largest prefix (in characters, snapped to line ends where possible) that fits.
  const fits = async (chars: number) => (await measure(renderSummarizePrompt(sel, code.slice(0, chars), true))) <= budget;
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
  const keptLines = kept.split('\n').length;
  const note =
    keptLines < totalLines
      ? `Selection trimmed to its first ${keptLines} of ${totalLines} lines to fit the model's context.`
      : `Selection trimmed to its first ${kept.length} of ${code.length} characters to fit the model's context.`;
  return {
    content: renderSummarizePrompt(sel, kept, true),
    display: summarizeLabel(sel, keptLines, totalLines),
    notes: [note],
    keptLines,
    totalLines,
  };
}
