// The host → view messages (extension/protocol.ts HostToWebview, in order): each changes the store and the view
// state at once and marks what the scheduler redraws on the next frame; none touches the DOM itself.

import type { HostToWebview } from '../extension/protocol';
import type { Dirty } from './scheduler';
import type { Store } from './store';
import type { ScrollFollower } from './chat/follow';
import type { WhatIfView } from './lens/interventions';
import type { AppView } from './model-line';
import type { UiState } from './ui-state';
import { parseMode } from './lens/color';
import { installPalette } from './lens/palette';
import { deliverEvals } from './evals-mount';

/** What the messages change, and the app's actions they take (webview/app.ts). */
export interface MessageTarget {
  store: Store;
  ui: UiState;
  /** Messages shown as tokens. */
  tokenTurns: Set<string>;
  /** The lens in an editor tab (it shows the message it follows as tokens). */
  editorMode: boolean;
  scroll: Pick<ScrollFollower, 'followBottom' | 'reveal'>;
  whatIf: Pick<WhatIfView, 'set' | 'drop' | 'retain'>;
  invalidate(...keys: Dirty[]): void;
  /** Renders now. */
  flush(): void;
  /** A chat.frames message arrived with `tokens` tokens of routing (AppStats). */
  framesArrived(tokens: number): void;
  /** The store was replaced: the message element the lens highlights is gone. */
  forgetHighlight(): void;
  /** Tells screen readers (the polite live region). */
  announce(text: string): void;
  setView(view: AppView): void;
  setLensOpen(open: boolean): void;
  focusInput(): void;
}

export function applyHostMessage(msg: HostToWebview, t: MessageTarget): void {
  const { store, ui, tokenTurns } = t;
  switch (msg.type) {
    case 'snapshot': {
      store.load(msg.snapshot);
      installPalette(store.experts);
      const ids = new Set(store.turns.map((turn) => turn.id));
      for (const id of [...tokenTurns]) if (!ids.has(id)) tokenTurns.delete(id);
      if (ui.selected && !ids.has(ui.selected.turnId)) ui.selected = undefined;
      if (ui.lensTurn && !ids.has(ui.lensTurn)) ui.lensTurn = undefined;
      t.whatIf.retain(ids);
      ui.mode = parseMode(ui.mode, store.model.info?.routing?.moeLayers.length ?? 0);
      t.forgetHighlight();
      t.scroll.followBottom();
      t.flush();
      break;
    }
    case 'chat.turnAdded': {
      const { model, replaced } = store.put(msg.turn);
      if (!replaced && ui.autoTokens) tokenTurns.add(model.id);
      if (replaced && ui.selected?.turnId === model.id) ui.selected = undefined;
      if (replaced) t.whatIf.drop(model.id);
      // A new question (typed, Summarize Selection, Retry) brings the transcript back to its answer.
      if (!replaced && model.info.role === 'user') t.scroll.followBottom();
      t.invalidate();
      break;
    }
    case 'chat.frames': {
      const turn = store.get(msg.turnId);
      if (!turn) break;
      turn.appendText(msg.textDelta);
      let tokens = 0;
      for (const b of msg.routing ?? []) tokens += turn.addRouting(b).ids.length;
      t.framesArrived(tokens);
      t.invalidate();
      break;
    }
    case 'chat.turnUpdated': {
      const turn = store.get(msg.turn.id);
      if (!turn) break;
      const before = turn.info.status;
      turn.update(msg.turn);
      if (turn.info.status === 'error' && before !== 'error') t.scroll.reveal(turn.id);
      if (before === 'streaming' && turn.info.status !== 'streaming') {
        const said: Record<string, string> = { complete: 'Answer complete.', stopped: 'Answer stopped.', error: `Error: ${turn.info.error ?? 'generation failed'}` };
        t.announce(said[turn.info.status] ?? '');
      }
      t.invalidate();
      break;
    }
    case 'chat.turnRemoved': {
      if (store.remove(msg.turnId)) {
        tokenTurns.delete(msg.turnId);
        if (ui.selected?.turnId === msg.turnId) ui.selected = undefined;
        if (ui.lensTurn === msg.turnId) ui.lensTurn = undefined;
        t.invalidate();
      }
      break;
    }
    case 'model.state': {
      store.model = msg.model;
      installPalette(store.experts);
      ui.mode = parseMode(ui.mode, store.model.info?.routing?.moeLayers.length ?? 0);
      t.invalidate();
      break;
    }
    case 'view.focusInput':
      t.setView('chat');
      t.focusInput();
      break;
    case 'lens.show': {
      const turn = msg.turnId ? store.get(msg.turnId) : undefined;
      if (turn) ui.lensTurn = turn.id;
      if (turn && t.editorMode) {
        // The editor tab shows the message it follows as tokens, brought into view.
        tokenTurns.add(turn.id);
        t.scroll.reveal(turn.id);
        t.invalidate(`turn:${turn.id}`);
      }
      t.setView('chat');
      t.setLensOpen(true);
      break;
    }
    case 'lens.whatIf':
      // A new comparison brings the lens to the answer it regenerated (it is shown with that message).
      if (msg.whatIf.status === 'running' && store.get(msg.whatIf.turnId)) ui.lensTurn = msg.whatIf.turnId;
      t.whatIf.set(msg.whatIf);
      if (!ui.lensOpen) t.setLensOpen(true);
      break;
    case 'evals.update':
      deliverEvals(msg.body);
      break;
  }
}
