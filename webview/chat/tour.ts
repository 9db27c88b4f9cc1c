// The demo's one-click tour: a prose text, then a Python text, each continued by the model; then both answers
// as tokens coloured by expert, with the lens open, and a banner that says what to look at. Each step waits for
// the answer before; a failed or stopped answer, or a new conversation, ends the tour.

import { DEMO_STARTERS } from '../../extension/chat/demo-starters';
import { button, h, setHidden } from '../components';
import type { Store } from '../store';

export interface TourHooks {
  send(text: string): void;
  /** Shows these turns as tokens coloured by expert and opens the lens on the last. */
  showTokens(turnIds: string[]): void;
}

const STEPS = [
  { starter: DEMO_STARTERS.find((s) => s.kind === 'prose')!, text: 'Tour 1 of 3: the demo continues a sentence of technical prose.' },
  { starter: DEMO_STARTERS.find((s) => s.kind === 'python')!, text: 'Tour 2 of 3: the same model continues a Python function.' },
];
const DONE =
  'Tour 3 of 3: both answers are shown as tokens, each coloured by the expert its router chose (the lens names them; click a token for every layer). ' +
  'Prose and code go to different experts: seeing a Mixture-of-Experts route is what this demo is for. Coming next: the routing atlas, a map of which experts handle which kinds of text.';

export class Tour {
  readonly el: HTMLElement;
  private text: HTMLElement;
  /** Index in STEPS of the text sent last (-1: not running), and where the tour's turns start in the store. */
  private step = -1;
  private base = 0;
  private answers: string[] = [];

  constructor(
    private store: Store,
    private hooks: TourHooks,
  ) {
    this.text = h('span', { 'data-testid': 'tour-text' });
    const close = button('Close', { testid: 'tour-close', appearance: 'secondary', onClick: () => this.end() });
    this.el = h('div', { class: 'tour', 'data-testid': 'tour', role: 'status', hidden: true }, this.text, close);
  }

  get running(): boolean {
    return this.step >= 0;
  }

  start(): void {
    if (this.running || this.store.generating) return;
    this.base = this.store.turns.length;
    this.answers = [];
    this.send(0);
  }

  private send(step: number): void {
    this.step = step;
    this.say(STEPS[step].text);
    this.hooks.send(STEPS[step].starter.prompt);
  }

  private say(text: string): void {
    this.text.textContent = text;
    setHidden(this.el, false);
  }

  private end(message?: string): void {
    this.step = -1;
    if (message) this.say(message);
    else setHidden(this.el, true);
  }

  /** Called on every render: moves on when the step's answer is complete. */
  follow(): void {
    if (!this.running) return;
    const at = this.base + 2 * this.step;
    const user = this.store.turns[at];
    const answer = this.store.turns[at + 1];
    if (!user || user.info.role !== 'user') {
      // The turns went away (New chat) or have not arrived yet.
      if (this.store.turns.length < at) this.end();
      return;
    }
    if (!answer || answer.info.status === 'streaming' || this.store.generating) return;
    if (answer.info.status !== 'complete') return this.end(`The tour stopped: the answer was ${answer.info.status === 'error' ? 'an error' : 'stopped'}.`);
    this.answers.push(answer.id);
    if (this.step + 1 < STEPS.length) return this.send(this.step + 1);
    this.step = -1;
    this.say(DONE);
    this.hooks.showTokens(this.answers);
  }
}
