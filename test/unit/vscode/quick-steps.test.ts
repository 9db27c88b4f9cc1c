// QuickSteps against a fake of VS Code's quick input: each step is shown before the previous one is disposed (the
// quick input never closes between steps, so focus cannot go back to a webview), Back, and Escape.
import { beforeEach, describe, expect, it, vi } from 'vitest';

type Listener<T> = (e: T) => void;
class Emitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (l: Listener<T>) => {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  };
  fire(e: T) {
    for (const l of [...this.listeners]) l(e);
  }
  clear() {
    this.listeners.clear();
  }
}

/** What the fake quick input widget did, in order: "show 1", "hide 1", "dispose 1" … */
const widget: string[] = [];
/** The input on screen. */
const screen: { input?: FakeInput } = {};
let nextId = 1;
const BACK_BUTTON = { iconPath: 'back' };

class FakeInput {
  id = nextId++;
  title?: string;
  step?: number;
  totalSteps?: number;
  ignoreFocusOut = false;
  busy = false;
  enabled = true;
  buttons: unknown[] = [];
  value = '';
  prompt?: string;
  password = false;
  placeholder?: string;
  validationMessage?: string;
  canSelectMany = false;
  matchOnDescription = false;
  items: { label: string; picked?: boolean }[] = [];
  selectedItems: { label: string }[] = [];
  activeItems: { label: string }[] = [];
  private readonly hide$ = new Emitter<void>();
  private readonly accept$ = new Emitter<void>();
  private readonly button$ = new Emitter<unknown>();
  private readonly value$ = new Emitter<string>();
  onDidHide = this.hide$.event;
  onDidAccept = this.accept$.event;
  onDidTriggerButton = this.button$.event;
  onDidChangeValue = this.value$.event;
  private disposed = false;
  show() {
    // VS Code's QuickInputController.show: the input on screen is replaced without hide() (no focus hand-back).
    const old = screen.input;
    screen.input = this;
    widget.push(`show ${this.id}`);
    if (old && old !== this) old.hide$.fire();
  }
  hide() {
    if (screen.input !== this) return;
    screen.input = undefined;
    widget.push(`hide ${this.id}`);
    this.hide$.fire();
  }
  dispose() {
    if (this.disposed) return;
    this.disposed = true;
    widget.push(`dispose ${this.id}`);
    this.hide();
    this.hide$.clear();
  }
  // The user:
  accept() {
    this.activeItems = this.activeItems.length ? this.activeItems : this.items.slice(0, 1);
    this.accept$.fire();
  }
  back() {
    this.button$.fire(BACK_BUTTON);
  }
  escape() {
    this.hide();
  }
  type(value: string) {
    this.value = value;
    this.value$.fire(value);
  }
}

vi.mock('vscode', () => ({
  window: { createQuickPick: () => new FakeInput(), createInputBox: () => new FakeInput() },
  QuickInputButtons: { Back: BACK_BUTTON },
}));

const { BACK, QuickSteps } = await import('../../../extension/vscode/quick-steps');

/** Lets the awaited step resolve, then returns the input on screen. */
const flush = async () => {
  await new Promise((r) => setTimeout(r, 0));
  return screen.input!;
};

beforeEach(() => {
  widget.length = 0;
  screen.input = undefined;
});

describe('QuickSteps', () => {
  it('shows each step before disposing the previous one, so the quick input never closes between steps', async () => {
    const steps = new QuickSteps();
    const first = steps.one({ title: 'suite', step: 1, of: 3, items: [{ label: 'a' }, { label: 'b' }] });
    const a = await flush();
    expect(a).toMatchObject({ title: 'suite', step: 1, totalSteps: 3, ignoreFocusOut: true, buttons: [] });
    a.activeItems = [a.items[1]];
    a.accept();
    expect(await first).toEqual({ label: 'b' });
    // Answered: still on screen, busy, until the next step replaces it.
    expect(a).toMatchObject({ busy: true, enabled: false });
    expect(screen.input).toBe(a);

    const second = steps.many({ title: 'models', step: 2, of: 3, items: [{ label: 'x', picked: true }, { label: 'y' }] });
    const b = await flush();
    expect(b.canSelectMany).toBe(true);
    expect(b.selectedItems.map((i) => i.label)).toEqual(['x']);
    expect(b.buttons).toEqual([BACK_BUTTON]);
    b.accept();
    expect(await second).toEqual([{ label: 'x', picked: true }]);
    steps.dispose();
    expect(widget).toEqual([`show ${a.id}`, `show ${b.id}`, `dispose ${a.id}`, `dispose ${b.id}`, `hide ${b.id}`]);
    expect(widget.filter((w) => w.startsWith('hide'))).toHaveLength(1);
  });

  it('Back answers BACK; Escape on an open step answers undefined', async () => {
    const steps = new QuickSteps();
    const answer = steps.text({ title: 'key', step: 2, of: 3, prompt: 'API key' });
    (await flush()).back();
    expect(await answer).toBe(BACK);
    const again = steps.text({ title: 'key', step: 2, of: 3, prompt: 'API key' });
    (await flush()).escape();
    expect(await again).toBeUndefined();
    steps.dispose();
  });

  it('a text step accepts only a valid value', async () => {
    const steps = new QuickSteps();
    const answer = steps.text({ title: 'address', step: 1, prompt: 'URL', value: 'nope', validate: (v) => (v.startsWith('http') ? undefined : 'not a URL') });
    const box = await flush();
    expect(box.validationMessage).toBe('not a URL');
    box.accept();
    box.type('http://127.0.0.1:8080');
    expect(box.validationMessage).toBeUndefined();
    box.accept();
    expect(await answer).toBe('http://127.0.0.1:8080');
    steps.dispose();
  });

  it('Enter with nothing checked keeps a many() step open', async () => {
    const steps = new QuickSteps();
    const answer = steps.many({ title: 'variants', step: 3, items: [{ label: 'plain' }] });
    const pick = await flush();
    pick.selectedItems = [];
    pick.accept();
    expect(pick.placeholder).toMatch(/at least one/);
    pick.selectedItems = [pick.items[0]];
    pick.accept();
    expect(await answer).toEqual([{ label: 'plain' }]);
    steps.dispose();
  });

  it('Escape while an answered step is busy cancels the steps after it', async () => {
    const steps = new QuickSteps();
    const first = steps.text({ title: 'address', step: 1, prompt: 'URL' });
    const box = await flush();
    box.accept();
    expect(await first).toBe('');
    // The caller is now asking the server for its models; the user presses Escape.
    box.escape();
    expect(steps.closed).toBe(true);
    expect(await steps.one({ title: 'model', step: 3, items: [{ label: 'm' }] })).toBeUndefined();
    expect(screen.input).toBeUndefined();
    steps.dispose();
  });
});
