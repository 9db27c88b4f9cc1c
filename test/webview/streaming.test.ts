// @vitest-environment happy-dom
// Streaming cost in the webview: finished markdown blocks render once and keep their DOM while the answer grows,
// only the last block is parsed again; the stats line names the model load inside the first-token time.
import { afterEach, describe, expect, it } from 'vitest';
import { renderMarkdown, stableSplit } from '../../webview/markdown';
import { mount, snapshot, tid, tids, turn, unmount } from './harness';

afterEach(unmount);

describe('stableSplit: the end of the last finished block', () => {
  it('splits before the block that can still grow, whatever kind it is', () => {
    // Indented lines after a paragraph are a code block that may take more lines: the paragraph is finished.
    expect(stableSplit('If x\n\n      If y\n      z\n')).toBe(6);
    expect(stableSplit('one\n\ntwo\n\n- a\n\n- b')).toBe(10); // the list may continue, the paragraphs are done
    expect(stableSplit('- a\n\nafter the list')).toBe(5);
    expect(stableSplit('Title\n')).toBe(0); // "===" may still make it a heading
    expect(stableSplit('one\n\ntwo\n===')).toBe(5);
    expect(stableSplit('a\r\n\r\nb')).toBe(0); // the lexer's pieces no longer spell the text: no split
    expect(stableSplit('')).toBe(0);
  });

  it('the pieces rendered apart give the same HTML as the whole', () => {
    const text = 'Intro *one*.\n\n```py\nx = 1\n\ny = 2\n```\n\n      indented\n\n      more\n\n> quote\n\n1. a\n2. b\n\nEnd';
    const html = (f: DocumentFragment) => Array.from(f.childNodes, (n) => (n as Element).outerHTML ?? n.textContent).join('').replace(/\n/g, '');
    let pos = 0;
    let pieces = '';
    for (;;) {
      const split = stableSplit(text.slice(pos));
      if (split === 0) break;
      pieces += html(renderMarkdown(text.slice(pos, pos + split)));
      pos += split;
    }
    pieces += html(renderMarkdown(text.slice(pos)));
    expect(pos).toBeGreaterThan(0);
    expect(pieces).toBe(html(renderMarkdown(text)));
  });
});

describe('a streaming answer in the transcript', () => {
  it('keeps the DOM of finished blocks while the last one grows, then renders the whole once', async () => {
    const h = await mount();
    h.send({ type: 'snapshot', snapshot: snapshot([]) });
    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', '', [], { status: 'streaming' }) });
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: 'First paragraph.\n\n      code line', routing: [] });
    h.app.flush();
    const body = tids('turn')[0].querySelector('.turn-body')!;
    const first = body.querySelector('[data-testid="turn-text"] p');
    expect(first?.textContent).toBe('First paragraph.');
    expect(body.querySelector('.md-tail pre')?.textContent).toContain('code line');
    for (const delta of ['\n      more code', '\n\nSecond paragraph', ' grows.']) {
      h.send({ type: 'chat.frames', turnId: 'a1', textDelta: delta, routing: [] });
      h.app.flush();
    }
    // The first paragraph is the same element; the code block became finished; only the last paragraph is the tail.
    expect(body.querySelector('[data-testid="turn-text"] p')).toBe(first);
    expect(body.querySelector('[data-testid="turn-text"] pre')?.textContent).toContain('more code');
    expect(body.querySelector('.md-tail')!.textContent!.trim()).toBe('Second paragraph grows.');
    h.send({ type: 'chat.turnUpdated', turn: turn('a1', 'assistant', 'First paragraph.\n\n      code line\n      more code\n\nSecond paragraph grows.') });
    h.app.flush();
    expect(body.querySelector('.md-tail')!.childNodes).toHaveLength(0);
    expect(body.querySelectorAll('[data-testid="turn-text"] p')).toHaveLength(2);
  });

  it('says how much of the first-token wait was the model load', async () => {
    const h = await mount();
    const stats = { promptTokens: 6, generatedTokens: 40, promptTokensPerSecond: 300, generatedTokensPerSecond: 512.3, stopReason: 'max-tokens' as const };
    h.send({
      type: 'snapshot',
      snapshot: snapshot([
        turn('a1', 'assistant', 'x', [], { stats: { ...stats, timeToFirstTokenMs: 7312, modelLoadMs: 5690 } }),
        turn('a2', 'assistant', 'y', [], { stats: { ...stats, timeToFirstTokenMs: 42.4 } }),
      ]),
    });
    h.app.flush();
    const lines = tids('turn-stats').map((s) => s.textContent);
    expect(lines[0]).toContain('first token 7.3 s, incl. model load 5.7 s');
    expect(lines[1]).toContain('first token 42 ms');
    expect(lines[1]).not.toContain('model load');
    expect(tid('turn-stats')).not.toBeNull();
  });
});
