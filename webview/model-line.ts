// The sidebar's header: the model line (name, state, demo label, error, Info and Select model) and the view tabs
// (Chat, Evals) with the lens toggle. It renders the store's model summary and the app's view state.

import type { ModelSummary, WebviewToHost } from '../extension/protocol';
import { button, h, setAttr, setHidden, setText } from './components';

export type AppView = 'chat' | 'evals';

export interface ModelLineHooks {
  post(message: WebviewToHost): void;
  setView(view: AppView): void;
  toggleLens(): void;
}

const STATE_LABEL: Record<string, string> = { idle: 'idle', starting: 'starting…', loading: 'loading…', ready: 'ready', generating: 'generating…', error: 'error' };

export class ModelLine {
  readonly el: HTMLElement;
  private readonly name = h('span', { class: 'model-name', 'data-testid': 'model-name' });
  private readonly state = h('span', { class: 'model-state', 'data-testid': 'model-state' });
  private readonly demo = h('div', { class: 'demo-label', 'data-testid': 'demo-label', hidden: true }, 'MoE Lens demo: it continues your text; it is not an assistant.');
  private readonly error = h('div', { class: 'error', 'data-testid': 'model-error', role: 'alert', hidden: true });
  private readonly lensToggle: HTMLElement;
  private readonly chatTab = h('button', { class: 'view-tab', role: 'tab', 'data-testid': 'view-chat', type: 'button' }, 'Chat');
  private readonly evalsTab = h('button', { class: 'view-tab', role: 'tab', 'data-testid': 'view-evals', type: 'button' }, 'Evals');

  constructor(hooks: ModelLineHooks) {
    const selectModel = button('Select model', { testid: 'select-model', appearance: 'secondary', onClick: () => hooks.post({ type: 'model.select' }) });
    const info = button('Info', { testid: 'model-info', appearance: 'secondary', title: 'Model details and placement', onClick: () => hooks.post({ type: 'model.showInfo' }) });
    this.lensToggle = button('Lens', { testid: 'lens-toggle', appearance: 'secondary', title: 'Show or hide the expert lens', onClick: () => hooks.toggleLens() });
    this.chatTab.addEventListener('click', () => hooks.setView('chat'));
    this.evalsTab.addEventListener('click', () => hooks.setView('evals'));
    this.el = h(
      'header',
      { class: 'model-line', 'data-testid': 'model-line' },
      h('div', { class: 'model-row' }, this.name, this.state, h('span', { class: 'spacer' }), info, selectModel),
      this.demo,
      this.error,
      h('nav', { class: 'view-tabs', role: 'tablist', 'aria-label': 'Views' }, this.chatTab, this.evalsTab, h('span', { class: 'spacer' }), this.lensToggle),
    );
  }

  render(model: ModelSummary, view: AppView, lensOpen: boolean): void {
    const info = model.info;
    setText(this.name, model.label);
    const r = info?.routing;
    const facts = info && [info.architecture, info.layers ? `${info.layers} layers` : '', r ? `${r.experts} experts, top-${r.expertsPerToken}` : info.remote ? 'experts not reported' : 'dense'].filter(Boolean).join(', ');
    const title = info ? `${info.path}\n${facts}` : '';
    if (this.name.title !== title) this.name.title = title;
    setText(this.state, STATE_LABEL[model.state] ?? model.state);
    setAttr(this.state, 'data-state', model.state);
    setHidden(this.demo, !model.isDemo);
    setHidden(this.error, !model.error);
    setText(this.error, model.error ?? '');
    setAttr(this.lensToggle, 'aria-pressed', String(lensOpen));
    setAttr(this.chatTab, 'aria-selected', String(view === 'chat'));
    setAttr(this.evalsTab, 'aria-selected', String(view === 'evals'));
  }
}
