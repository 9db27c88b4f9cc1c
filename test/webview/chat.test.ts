// @vitest-environment happy-dom
// The chat view against a fake host: startup, streaming, composer, errors, notes, code blocks, sanitizer.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { block } from '../routing/fixtures';
import { click, mount, modelSummary, snapshot, tid, tids, turn, q, qa, unmount, type FakeHost } from './harness';
import type { BundleProtocol, RequestMessage } from '../../extension/protocol';

let host: FakeHost | undefined;
afterEach(unmount);

describe('startup and model line', () => {
  it('posts ready and renders the snapshot', async () => {
    host = await mount();
    expect(host.posted).toEqual([{ type: 'ready' }]);
    host.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'Hi'), turn('a1', 'assistant', 'Hello *there*')]) });
    expect(tids('turn').map((t) => t.dataset.role)).toEqual(['user', 'assistant']);
    expect(tids('turn')[1].querySelector('em')!.textContent).toBe('there');
    // The header names the model as the status bar does: the demo as "demo model", a file by its name.
    expect(tid('model-name')!.textContent).toBe('MoE Lens demo');
    expect(tid('model-state')!.textContent).toBe('ready');
    expect(tid('demo-label')!.hidden).toBe(false);
    expect(tid('demo-label')!.textContent).toBe('MoE Lens demo: it continues your text; it is not an assistant.');
    click(tid('select-model'));
    expect(host.posted).toContainEqual({ type: 'model.select' });
    // Before any model is loaded the configured one is named, never "No model".
    host.send({ type: 'model.state', model: { label: 'mixtral.gguf', isDemo: false, state: 'idle', captureRouting: true } });
    host.app.flush();
    expect(tid('model-name')!.textContent).toBe('mixtral.gguf');
    expect(tid('demo-label')!.hidden).toBe(true);
  });

  it('shows model state changes and errors', async () => {
    host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([], modelSummary({ isDemo: false })) });
    expect(tid('demo-label')!.hidden).toBe(true);
    host.send({ type: 'model.state', model: modelSummary({ state: 'error', error: 'GGUF file is truncated' }) });
    expect(tid('model-state')!.dataset.state).toBe('error');
    expect(tid('model-error')!.textContent).toBe('GGUF file is truncated');
  });
});

describe('composer', () => {
  it('Enter sends, Shift+Enter does not; Stop while generating; New chat', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([]) });
    const input = tid('chat-input') as HTMLElement & { value: string };
    input.value = 'line one';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true, cancelable: true }));
    expect(h.posted.filter((m) => m.type === 'chat.send')).toHaveLength(0);
    input.value = 'line one\nline two';
    const enter = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    input.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    expect(h.posted).toContainEqual({ type: 'chat.send', text: 'line one\nline two' });
    expect(input.value).toBe('');

    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', '', [], { status: 'streaming' }) });
    expect(tid('stop')!.hidden).toBe(false);
    expect(tid('send')!.hidden).toBe(true);
    click(tid('stop'));
    expect(h.posted).toContainEqual({ type: 'chat.stop' });
    h.send({ type: 'chat.turnUpdated', turn: { ...turn('a1', 'assistant', ''), status: 'stopped' } });
    expect(tid('stop')!.hidden).toBe(true);
    click(tid('new-chat'));
    expect(h.posted).toContainEqual({ type: 'chat.new' });
  });
});

describe('input focus', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('the host\'s focus request focuses the input only while the view has focus or gains it at once', async () => {
    vi.useFakeTimers();
    host = await mount();
    host.send({ type: 'snapshot', snapshot: snapshot([]) });
    const input = tid('chat-input')!;
    const focused: Element[] = [];
    vi.spyOn(HTMLElement.prototype, 'focus').mockImplementation(function (this: HTMLElement) {
      focused.push(this);
    });
    const inputFocused = () => focused.filter((el) => el === input || input.shadowRoot?.contains(el)).length;
    const hasFocus = vi.spyOn(document, 'hasFocus');

    hasFocus.mockReturnValue(true);
    host.send({ type: 'view.focusInput' });
    expect(inputFocused()).toBe(1);

    // VS Code focuses the view just after its message: the input follows.
    hasFocus.mockReturnValue(false);
    host.send({ type: 'view.focusInput' });
    expect(inputFocused()).toBe(1);
    window.dispatchEvent(new FocusEvent('focus'));
    expect(inputFocused()).toBe(2);

    // A request whose view never gets focus (the user went to a picker) never pulls focus here later.
    host.send({ type: 'view.focusInput' });
    vi.advanceTimersByTime(1500);
    window.dispatchEvent(new FocusEvent('focus'));
    expect(inputFocused()).toBe(2);
  });
});

describe('streaming', () => {
  it('appends frames to the streaming turn without re-rendering the others', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'Hello', [{ ...block(0, 2), phase: 'prompt' }])]) });
    const firstTurn = tids('turn')[0];
    const firstBody = firstTurn.querySelector('.turn-body')!.firstElementChild;
    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', '', [], { status: 'streaming' }) });
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: 'Hel', routing: [block(0, 1)] });
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: 'lo, "x"\n\nSecond', routing: [block(1, 3)] });
    const answer = tids('turn')[1];
    expect(answer.dataset.status).toBe('streaming');
    expect(answer.textContent).toContain('Hello, "x"');
    expect(answer.textContent).toContain('Second');
    // The other turn's DOM is untouched.
    expect(tids('turn')[0]).toBe(firstTurn);
    expect(firstTurn.querySelector('.turn-body')!.firstElementChild).toBe(firstBody);
    // Token view of the streaming turn: spans are appended as frames arrive.
    click(answer.querySelector('[data-testid="turn-lens-toggle"]'));
    expect(qa('[data-turn-id="a1"] [data-testid="token"]').map((s) => s.dataset.index)).toEqual(['0', '1', '2']);
    const firstSpan = qa('[data-turn-id="a1"] [data-testid="token"]')[0];
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: '!', routing: [block(3, 4)] });
    const spans = qa('[data-turn-id="a1"] [data-testid="token"]');
    expect(spans.map((s) => s.dataset.index)).toEqual(['0', '1', '2', '3']);
    expect(spans[0]).toBe(firstSpan);
    expect(h.app.stats.tokensReceived).toBe(4);
    // Completion: the full text is rendered once more as a whole.
    h.send({ type: 'chat.turnUpdated', turn: { ...turn('a1', 'assistant', 'Hello, "x"\n\nSecond!'), stats: { promptTokens: 2, generatedTokens: 4, promptTokensPerSecond: 100, generatedTokensPerSecond: 20, timeToFirstTokenMs: 12, stopReason: 'eos' } } });
    expect(tids('turn')[1].dataset.status).toBe('complete');
    expect(tid('turn-stats')!.textContent).toContain('4 tokens');
    expect(tid('announcer')!.textContent).toBe('Answer complete.');
  });

  it('renders markdown of a streaming turn incrementally and completely at the end', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([]) });
    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', '', [], { status: 'streaming' }) });
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: 'Intro\n\n```js\nconst a = 1;\n', routing: [] });
    h.send({ type: 'chat.frames', turnId: 'a1', textDelta: '```\n\nAfter **bold**', routing: [] });
    const t = tids('turn')[0];
    expect(t.querySelector('pre code')!.textContent).toBe('const a = 1;\n');
    expect(t.querySelector('strong')!.textContent).toBe('bold');
    expect(t.querySelectorAll('pre')).toHaveLength(1);
  });

  it('a re-sent turn (Retry) replaces the old one, routing included', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'old', [block(0, 4)], { status: 'error', error: 'boom' })]) });
    h.send({ type: 'chat.turnAdded', turn: turn('a1', 'assistant', '', [], { status: 'streaming' }) });
    expect(tids('turn')).toHaveLength(1);
    expect((h.app as unknown as { store: { get(id: string): { routing: { count: number } } } }).store.get('a1').routing.count).toBe(0);
    h.send({ type: 'chat.turnRemoved', turnId: 'a1' });
    expect(tids('turn')).toHaveLength(0);
  });
});

describe('errors, notes, code blocks', () => {
  it('shows errors on the turn with Retry, and visible notes', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'q', [], { notes: ['Older turns were trimmed to fit the context.'] }), turn('a1', 'assistant', 'partial', [], { status: 'error', error: 'The engine crashed.' })]) });
    expect(tid('turn-note')!.textContent).toBe('Older turns were trimmed to fit the context.');
    expect(tid('turn-error')!.textContent).toContain('The engine crashed.');
    click(tid('retry'));
    expect(h.posted).toContainEqual({ type: 'chat.retry', turnId: 'a1' });
  });

  it('a turn that fails is scrolled into view', async () => {
    const h = await mount();
    host = h;
    const streaming = turn('a1', 'assistant', 'partial', [], { status: 'streaming' });
    h.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'q'), streaming]) });
    const article = q('[data-turn-id="a1"]')!;
    const calls: unknown[] = [];
    article.scrollIntoView = ((arg?: unknown) => void calls.push(arg)) as typeof article.scrollIntoView;
    h.send({ type: 'chat.turnUpdated', turn: { id: 'a1', role: 'assistant', display: 'partial', content: 'partial', status: 'error', error: 'The engine crashed.' } });
    h.app.flush();
    expect(calls).toEqual([{ block: 'nearest' }]);
  });

  it('an error offers the actions that can help: a bad model file offers Select model, never Retry', async () => {
    const h = await mount();
    host = h;
    const bad = turn('a1', 'assistant', '', [], { status: 'error', error: 'x.gguf is not a GGUF model file', errorActions: ['select-model'] });
    const long = turn('a2', 'assistant', '', [], { status: 'error', error: 'the prompt has 900 tokens', errorActions: ['new-chat', 'open-settings'] });
    h.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'q'), bad, turn('u2', 'user', 'q2'), long]) });
    const [first, second] = tids('turn-error');
    expect(first.querySelector('[data-testid="retry"]')).toBeNull();
    click(first.querySelector<HTMLElement>('[data-testid="error-select-model"]')!);
    expect(h.posted).toContainEqual({ type: 'model.select' });
    expect(second.querySelector('[data-testid="retry"]')).toBeNull();
    click(second.querySelector<HTMLElement>('[data-testid="error-open-settings"]')!);
    click(second.querySelector<HTMLElement>('[data-testid="error-new-chat"]')!);
    expect(h.posted).toContainEqual({ type: 'settings.open' });
    expect(h.posted).toContainEqual({ type: 'chat.new' });
  });

  it('a Summarize Selection turn shows the range as a chip that opens it, and the code that was sent', async () => {
    const h = await mount();
    host = h;
    const code = 'export function f() {\n  return "<b>not html</b>";\n}';
    const user = turn('u1', 'user', 'Summarize `app.ts` lines 10–12', [], { source: { fileName: '/w/src/app.ts', languageId: 'typescript', startLine: 10, endLine: 12, code } });
    h.send({ type: 'snapshot', snapshot: snapshot([user]) });
    expect(tid('source-open')!.textContent).toBe('app.ts lines 10–12');
    expect(q('[data-testid="source-chip"] summary')!.textContent).toBe('Code sent (3 lines)');
    expect(q('[data-testid="source-chip"] pre code')!.textContent).toBe(code);
    expect(q('[data-testid="source-chip"] b')).toBeNull(); // text, never markup
    click(tid('source-open'));
    expect(h.posted).toContainEqual({ type: 'editor.reveal', turnId: 'u1' });
  });

  it('code blocks get Copy and Insert buttons', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'Try:\n\n```python\nprint("hi")\n```\n')]) });
    click(tid('code-copy'));
    expect(tid('code-copy')!.textContent).toBe('Copied ✓');
    click(tid('code-insert'));
    expect(h.posted).toContainEqual({ type: 'chat.copy', text: 'print("hi")\n' });
    await new Promise((r) => setTimeout(r, 1600));
    expect(tid('code-copy')!.textContent).toBe('Copy');
    expect(h.posted).toContainEqual({ type: 'chat.insertCode', code: 'print("hi")\n' });
    // Highlighted by highlight.js: classes only, the text unchanged.
    expect(q('pre code.hljs.language-python .hljs-built_in')!.textContent).toBe('print');
    expect(q('pre code .hljs-string')!.textContent).toBe('"hi"');
    expect(q('pre code')!.querySelector('[style]')).toBeNull();
  });
});

describe('sanitizer: model output is untrusted', () => {
  const attacks = [
    '<script>window.__pwned = 1</script>',
    '<img src=x onerror="window.__pwned = 2">',
    '<a href="javascript:alert(1)">js link</a>',
    '<a href="command:workbench.action.terminal.new">command link</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>',
    '<svg onload="alert(1)"><script>alert(2)</script><a xlink:href="javascript:alert(3)"><text>svg</text></a></svg>',
    '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
    '<iframe src="https://example.com"></iframe>',
    '<form action="https://example.com"><input name=a><button formaction="javascript:alert(1)">go</button></form>',
    '<div style="background:url(javascript:alert(1))" onclick="alert(1)">styled</div>',
    '<style>body{display:none}</style>',
    '[md js](javascript:alert(1)) [md cmd](command:workbench.action.openSettings) [md data](data:text/html,x) [ok](https://example.com)',
    '![img](x" onerror="alert(1)) ![alt](javascript:alert(1))',
    '<details open ontoggle="alert(1)"><summary>s</summary></details>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
  ];

  for (const [i, attack] of attacks.entries()) {
    it(`neutralises attack ${i}: ${attack.slice(0, 40)}`, async () => {
      const h = await mount();
      host = h;
      const text = `Before\n\n${attack}\n\nAfter`;
      // Both as a complete turn and as a stream (the tail is re-rendered per frame).
      h.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', text)]) });
      h.send({ type: 'chat.turnAdded', turn: turn('a2', 'assistant', '', [], { status: 'streaming' }) });
      h.send({ type: 'chat.frames', turnId: 'a2', textDelta: text.slice(0, 20), routing: [] });
      h.send({ type: 'chat.frames', turnId: 'a2', textDelta: text.slice(20), routing: [] });
      const transcript = tid('transcript')!;
      expect(transcript.querySelectorAll('script, iframe, object, embed, form, input, style, svg, math, img, link, meta, base')).toHaveLength(0);
      for (const el of Array.from(transcript.querySelectorAll('*'))) {
        for (const name of el.getAttributeNames()) {
          expect(name.startsWith('on'), `${el.tagName} has ${name}`).toBe(false);
          expect(name).not.toBe('style');
          const value = el.getAttribute(name) ?? '';
          if (['href', 'src', 'xlink:href', 'action', 'formaction', 'data'].includes(name)) expect(value).toMatch(/^(https?:|mailto:|#)/i);
        }
      }
      expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
      expect(transcript.textContent).toContain('After');
    });
  }

  it('keeps safe links and shows raw HTML as text', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([turn('a1', 'assistant', 'See [docs](https://example.com/x) and <b>raw</b>.')]) });
    const a = tid('transcript')!.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://example.com/x');
    expect(a.getAttribute('rel')).toContain('noopener');
    expect(tid('transcript')!.textContent).toContain('<b>raw</b>');
  });
});

describe('sanitize() on raw HTML (without marked escaping it first)', () => {
  it('removes every executable vector and keeps the harmless content', async () => {
    const { sanitize } = await import('../../webview/markdown');
    const div = document.createElement('div');
    div.append(
      sanitize(
        '<p>ok <b>bold</b></p><p style="color:red">styled</p><script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">j</a>' +
          '<a href=" command:foo">c</a><a href="data:text/html,x">d</a><a href="https://example.com" onclick="x()" target="_blank">h</a>' +
          '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">s</a></svg><iframe srcdoc="<script>alert(1)</script>"></iframe>' +
          '<form><input autofocus onfocus=alert(1)></form><style>*{}</style><math><mtext>m</mtext></math>',
      ),
    );
    expect(div.querySelectorAll('script, img, svg, iframe, form, input, style, math')).toHaveLength(0);
    const anchors = Array.from(div.querySelectorAll('a'));
    expect(anchors.map((a) => a.getAttribute('href'))).toEqual([null, null, null, 'https://example.com']);
    for (const el of Array.from(div.querySelectorAll('*'))) for (const n of el.getAttributeNames()) expect(['href', 'rel', 'title', 'class']).toContain(n);
    expect(div.querySelector('b')!.textContent).toBe('bold');
    expect(div.textContent).toContain('styled');
  });
});

describe('evals tab', () => {
  it('mounts the evals view on first open and routes its requests and responses', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([]) });
    click(tid('view-evals'));
    expect(tid('evals-view')!.hidden).toBe(false);
    expect(tid('chat-view')!.hidden).toBe(true);
    // Its requests go as `request` with an id; the answer with that id reaches the view.
    const requests = (h.posted as unknown[]).filter((m): m is RequestMessage<BundleProtocol> => (m as { type: string }).type === 'request');
    expect(requests.map((r) => r.request.type)).toEqual(['evals.listRuns']);
    h.send({ type: 'response', id: requests[0].id + 1, response: { type: 'evals.error', message: 'not mine' } } as never);
    expect(tid('evals-view')!.textContent).not.toContain('not mine');
    h.send({ type: 'response', id: requests[0].id, response: { type: 'evals.error', message: 'runs folder unreadable' } } as never);
    await Promise.resolve();
    expect(tid('evals-view')!.textContent).toContain('runs folder unreadable');
    click(tid('view-chat'));
    expect(tid('chat-view')!.hidden).toBe(false);
  });
});

describe('stableSplit (streaming markdown)', () => {
  it('splits after the last blank line outside code fences, never before a list item', async () => {
    const { stableSplit } = await import('../../webview/markdown');
    expect(stableSplit('one\n\ntwo')).toBe(5);
    expect(stableSplit('one\n\n```\na\n\nb')).toBe(5); // the blank line inside the open fence does not count
    expect(stableSplit('one\n\n```\na\n\nb\n```\n\nthree')).toBe(19);
    expect(stableSplit('- a\n\n- b')).toBe(0); // a list may continue
    expect(stableSplit('no blank line yet')).toBe(0);
  });
});

describe('a model that continues text (the demo)', () => {
  const continues = (patch = {}) => modelSummary(patch, { continuesText: true });

  it('the empty state offers texts to start from (clicking one sends it) and the input asks for a text to continue', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([], continues()) });
    const starters = tids('starter');
    expect(starters.map((s) => s.dataset.kind)).toEqual(expect.arrayContaining(['prose', 'markdown', 'python', 'shell']));
    expect(tid('chat-input')!.getAttribute('placeholder')).toMatch(/^Start a text for the model to continue/);
    click(starters[0]);
    expect(h.posted).toContainEqual({ type: 'chat.send', text: starters[0].title });
    // An assistant: no starters, and the input asks.
    h.send({ type: 'snapshot', snapshot: snapshot([], modelSummary({ isDemo: false })) });
    h.app.flush();
    expect(tids('starter')).toHaveLength(0);
    expect(tid('transcript-empty')!.textContent).toMatch(/^Ask the model something/);
    expect(tid('chat-input')!.getAttribute('placeholder')).toMatch(/^Ask the model/);
  });

  it('answers are plain text: indented or fenced lines are no code blocks with Copy / Insert', async () => {
    const h = await mount();
    host = h;
    const text = 'the module.\n\n    if x:\n        return 1\n```ts\nlet a\n```';
    h.send({ type: 'snapshot', snapshot: snapshot([turn('u1', 'user', 'The main purpose of'), turn('a1', 'assistant', text)], continues()) });
    expect(tids('code-copy')).toHaveLength(0);
    expect(q('[data-role="assistant"] pre')).toBeNull();
    expect(q('[data-role="assistant"] .plain-text')!.textContent).toBe(text);
  });

  it('the tour sends a prose and a Python text one after the other, then shows both answers as tokens in the lens', async () => {
    const h = await mount();
    host = h;
    h.send({ type: 'snapshot', snapshot: snapshot([], continues()) });
    click(tid('tour-start'));
    const sends = () => h.posted.filter((m) => m.type === 'chat.send').map((m) => (m as { text: string }).text);
    expect(sends()).toEqual(['To install the package on a Debian system, run']);
    expect(tid('tour-text')!.textContent).toMatch(/^Tour 1 of 3/);
    const answer = (n: number, status: 'streaming' | 'complete') => turn(`a${n}`, 'assistant', ' words', [block(0, 2)], { status });
    h.send({ type: 'chat.turnAdded', turn: turn('u1', 'user', sends()[0]) });
    h.send({ type: 'chat.turnAdded', turn: answer(1, 'streaming') });
    h.app.flush();
    expect(sends()).toHaveLength(1); // waits for the answer
    h.send({ type: 'chat.turnUpdated', turn: answer(1, 'complete') });
    h.app.flush();
    expect(sends()[1]).toMatch(/^def read_config/);
    expect(tid('tour-text')!.textContent).toMatch(/^Tour 2 of 3/);
    h.send({ type: 'chat.turnAdded', turn: turn('u2', 'user', sends()[1]) });
    h.send({ type: 'chat.turnAdded', turn: answer(2, 'complete') });
    h.app.flush();
    expect(sends()).toHaveLength(2);
    expect(tid('tour-text')!.textContent).toMatch(/^Tour 3 of 3.*routing atlas/);
    expect(tid('lens-toggle')!.getAttribute('aria-pressed')).toBe('true');
    const answers = qa('[data-role="assistant"] [data-testid="turn-lens-toggle"]');
    expect(answers.map((b) => b.getAttribute('aria-pressed'))).toEqual(['true', 'true']);
    click(tid('tour-close'));
    expect(tid('tour')!.hidden).toBe(true);
  });
});
