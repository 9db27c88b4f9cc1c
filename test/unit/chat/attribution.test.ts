// Which prompt tokens of a user turn are the user's own (the lens shows the rest as template, system prompt or
// re-evaluated history).
import { describe, expect, it } from 'vitest';
import { attributePromptTokens } from '../../../extension/chat/attribution';
import type { PromptSegmentRole } from '../../../extension/protocol';

/** The role of every token, from the segments. */
function roles(texts: string[], messages: Parameters<typeof attributePromptTokens>[1]): PromptSegmentRole[] {
  const out: PromptSegmentRole[] = [];
  for (const s of attributePromptTokens(texts, messages)) for (let p = s.start; p < s.end; p++) out[p] = s.role;
  return out;
}

describe('prompt token attribution', () => {
  it('first turn: the system prompt and the template are told from the message', () => {
    const texts = ['<s>', ' [', 'INST', ']', ' <<', 'SYS', '>>', '\n', 'Be', ' brief', '.', '\n', '<</', 'SYS', '>>', '\n\n', 'Hello', ' there', ' [/', 'INST', ']'];
    const r = roles(texts, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }]);
    expect(texts.filter((_, i) => r[i] === 'message').join('')).toBe('Hello there');
    expect(texts.filter((_, i) => r[i] === 'system').join('')).toBe('Be brief.');
    expect(r.filter((x) => x === 'template')).toHaveLength(texts.length - 5);
  });

  it('a later turn that re-reads the end of the previous answer: history, template, message', () => {
    const texts = [' world', '.', '</s>', '<s>', '[INST]', ' Next', ' one', ' [/INST]'];
    const r = roles(texts, [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello world.' },
      { role: 'user', content: 'Next one' },
    ]);
    expect(r).toEqual(['history', 'history', 'template', 'template', 'template', 'message', 'message', 'template']);
  });

  it('a whole earlier exchange evaluated again, and a message that repeats an earlier one', () => {
    const texts = ['<s>', 'Same', ' text', '\n\n', 'Same', ' text'];
    const r = roles(texts, [{ role: 'user', content: 'Same text' }, { role: 'user', content: 'Same text' }]);
    expect(r).toEqual(['template', 'history', 'history', 'template', 'message', 'message']);
  });

  it('the bytes of a character split over tokens belong with the token that completes it', () => {
    const texts = ['<s>', ' lines', ' 1', '', '', '–', '6'];
    expect(roles(texts, [{ role: 'user', content: 'lines 1–6' }])).toEqual(['template', 'message', 'message', 'message', 'message', 'message', 'message']);
  });

  it('covers every token exactly once, in order', () => {
    const texts = ['a', 'b', 'c'];
    const segs = attributePromptTokens(texts, [{ role: 'user', content: 'zzz' }]);
    expect(segs).toEqual([{ start: 0, end: 3, role: 'template' }]);
    expect(attributePromptTokens([], [{ role: 'user', content: 'x' }])).toEqual([]);
  });
});
