// Which prompt tokens of a chat turn belong to the user's message, and which to the chat template, the system
// prompt or earlier messages that were evaluated again (a later turn re-reads the previous answer when its
// re-tokenized text differs from the tokens the model generated). Pure: no vscode, no engine.
//
// Works on the token texts the engine reports (a multi-byte character sits whole on the token that completes
// it), so it needs no tokenizer: each message's content is located in the concatenated texts, from the end
// (the current message is last), earlier ones before it; what matches nothing is template.
import type { ChatMessage } from '../engine/types';
import type { PromptSegment, PromptSegmentRole } from '../protocol';

/** The longest tail of a partly reused message that is looked for (keeps the search linear in practice). */
const MAX_TAIL = 4000;

interface Span {
  start: number;
  end: number;
  role: PromptSegmentRole;
}

/** Runs of consecutive token positions with one role, covering `texts` (positions 0..texts.length-1). */
export function attributePromptTokens(texts: readonly string[], messages: readonly ChatMessage[]): PromptSegment[] {
  if (texts.length === 0) return [];
  const offsets: number[] = [];
  let joined = '';
  for (const t of texts) {
    offsets.push(joined.length);
    joined += t;
  }
  const spans: Span[] = [];
  let limit = joined.length;
  for (let m = messages.length - 1; m >= 0 && limit > 0; m--) {
    const msg = messages[m];
    const content = msg.content.trim();
    if (!content) continue;
    const role: PromptSegmentRole = m === messages.length - 1 ? 'message' : msg.role === 'system' ? 'system' : 'history';
    const at = content.length <= limit ? joined.lastIndexOf(content, limit - content.length) : -1;
    if (at >= 0) {
      spans.push({ start: at, end: at + content.length, role });
      limit = at;
      continue;
    }
    // The evaluated tokens may start inside this message (the rest was reused from the cache): its tail.
    let tail = 0;
    for (let n = Math.min(content.length, limit, MAX_TAIL); n >= 2; n--) {
      const head = joined.slice(0, n).trimStart();
      if (head.trimEnd().length >= 2 && content.endsWith(head)) {
        tail = n;
        break;
      }
    }
    if (tail > 0) spans.push({ start: 0, end: tail, role });
    break;
  }
  // Each token takes the role of the span it overlaps most (template where it overlaps none); a token with no text
  // (the first bytes of a character that a later token completes) takes the role of that later token.
  const roleOf = (pos: number): PromptSegmentRole => {
    while (texts[pos] === '' && pos + 1 < texts.length) pos++;
    const a = offsets[pos];
    const b = a + texts[pos].length;
    let best: PromptSegmentRole = 'template';
    let bestOverlap = 0;
    for (const s of spans) {
      const overlap = Math.min(b, s.end) - Math.max(a, s.start);
      if (overlap > bestOverlap) [best, bestOverlap] = [s.role, overlap];
    }
    return best;
  };
  const segments: PromptSegment[] = [];
  for (let p = 0; p < texts.length; p++) {
    const role = roleOf(p);
    const last = segments[segments.length - 1];
    if (last && last.role === role && last.end === p) last.end = p + 1;
    else segments.push({ start: p, end: p + 1, role });
  }
  return segments;
}
