// The chat's empty state. For a model that continues text (the built-in demo) it offers texts of the kinds the
// demo was trained on to start from, and a tour of what the demo is for; for an assistant, a line on what the
// chat records. It follows the model (known before it loads: the demo is the default).

import { DEMO_STARTERS } from '../../extension/chat/demo-starters';
import { button, h } from '../components';

export interface EmptyStateHooks {
  /** Sends a text to the model, as typed. */
  send(text: string): void;
  tour(): void;
}

export class EmptyState {
  readonly el: HTMLElement;
  private shown: boolean | undefined;

  constructor(private hooks: EmptyStateHooks) {
    this.el = h('div', { class: 'empty', 'data-testid': 'transcript-empty' });
  }

  /** Renders the state for a text-continuation model or an assistant (only when that changed). */
  update(continuesText: boolean): void {
    if (this.shown === continuesText) return;
    this.shown = continuesText;
    if (!continuesText) {
      this.el.replaceChildren(h('p', {}, 'Ask the model something. Every token of the prompt and the answer records which experts the router chose.'));
      return;
    }
    const starters = DEMO_STARTERS.map((s) =>
      button(s.label, { testid: 'starter', appearance: 'secondary', title: s.prompt, attrs: { class: 'starter', 'data-kind': s.kind }, onClick: () => this.hooks.send(s.prompt) }),
    );
    this.el.replaceChildren(
      h('p', {}, 'This model continues the text you start; it does not answer questions. It was trained on technical prose, Python, shell and markdown: start with one of these, or type your own.'),
      h('div', { class: 'starters', 'data-testid': 'starters' }, ...starters),
      h(
        'p',
        {},
        'Every token records which experts the router chose. ',
        button('Take the tour', { testid: 'tour-start', appearance: 'primary', title: 'Send a prose text and a code text, then see their experts side by side', onClick: () => this.hooks.tour() }),
      ),
    );
  }
}
