// The composer under the transcript: the message input (Enter sends, Shift+Enter a new line), New chat, Stop and
// Send. Send stays enabled while no model is loaded: the host loads it on the first send.

import type { WebviewToHost } from '../../extension/protocol';
import { button, h, setAttr, setDisabled, setHidden, textArea } from '../components';

export interface ComposerHooks {
  post(message: WebviewToHost): void;
  /** Sends a text; false when it was not sent (blank, or an answer is being generated). */
  send(text: string): boolean;
}

export class Composer {
  readonly el: HTMLElement;
  private readonly input = textArea({ testid: 'chat-input', placeholder: '', label: 'Message' });
  private readonly sendButton: HTMLElement;
  private readonly stop: HTMLElement;
  private readonly newChat: HTMLElement;

  constructor(private readonly hooks: ComposerHooks) {
    this.sendButton = button('Send', { testid: 'send', appearance: 'primary', onClick: () => this.sendInput() });
    this.stop = button('Stop', { testid: 'stop', appearance: 'secondary', onClick: () => hooks.post({ type: 'chat.stop' }) });
    this.newChat = button('New chat', { testid: 'new-chat', appearance: 'secondary', onClick: () => hooks.post({ type: 'chat.new' }) });
    this.input.el.addEventListener('keydown', (e) => {
      const ev = e as KeyboardEvent;
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        this.sendInput();
      }
    });
    this.el = h('footer', { class: 'composer' }, this.input.el, h('div', { class: 'composer-actions' }, this.newChat, h('span', { class: 'spacer' }), this.stop, this.sendButton));
  }

  render(generating: boolean, continuesText: boolean): void {
    setAttr(this.input.el, 'placeholder', continuesText ? 'Start a text for the model to continue… (Enter sends, Shift+Enter for a new line)' : 'Ask the model… (Enter sends, Shift+Enter for a new line)');
    setDisabled(this.sendButton, generating);
    setHidden(this.sendButton, generating);
    setHidden(this.stop, !generating);
    setDisabled(this.newChat, generating);
  }

  /**
   * The host asks for the input's focus when it shows the view (Open Chat, New Chat). Focus it only while this
   * view has focus, or gains it within a moment (VS Code focuses the view beside its message): a late message,
   * after the user moved to a picker or an editor, must not pull focus back here.
   */
  focusIfViewFocused(): void {
    if (document.hasFocus()) {
      this.input.focus();
      return;
    }
    const onFocus = (): void => {
      clearTimeout(expire);
      this.input.focus();
    };
    const expire = setTimeout(() => window.removeEventListener('focus', onFocus), 1000);
    window.addEventListener('focus', onFocus, { once: true });
  }

  private sendInput(): void {
    if (this.hooks.send(this.input.value)) this.input.value = '';
  }
}
