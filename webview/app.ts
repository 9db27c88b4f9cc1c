// The sidebar webview: model line, chat transcript, expert lens, composer, evals tab. Renders what the host
// sends (`ready` → `snapshot`, then incremental messages). Host messages update the store at once; DOM work
// is batched by the one scheduler (webview/scheduler.ts) into at most one render per animation frame.

import type { HostToWebview } from '../extension/protocol';
import { h, registerComponents, setAttr, setHidden } from './components';
import { connectHost, type Host } from './host';
import { Scheduler, type Dirty } from './scheduler';
import { Store } from './store';
import { Transcript } from './chat/transcript';
import { Composer } from './chat/composer';
import { ScrollFollower } from './chat/follow';
import { ModelLine, type AppView } from './model-line';
import { Tour } from './chat/tour';
import { LensPanel } from './lens/panel';
import { LensRefresh } from './lens/refresh';
import { heatGrid } from './lens/heatmap';
import { WhatIfView } from './lens/interventions';
import { EvalsTab } from './evals-mount';
import { DEFAULT_UI, type UiState } from './ui-state';
import { applyHostMessage, type MessageTarget } from './host-messages';

export interface AppStats {
  messages: number;
  frames: number;
  tokensReceived: number;
  /** Tokens whose text/routing has been applied to the DOM (a flush has run after they arrived). */
  tokensRendered: number;
  flushes: number;
}

export interface App {
  store: Store;
  stats: AppStats;
  /** Run pending DOM work now (tests, benchmarks). */
  flush(): void;
  handle(message: HostToWebview): void;
  dispose(): void;
}

export function startApp(root: HTMLElement = document.getElementById('root') ?? document.body): App {
  registerComponents();
  const host: Host = connectHost();
  const store = new Store();
  const saved = host.getState<Partial<UiState>>();
  const ui: UiState = { ...DEFAULT_UI, ...(saved && saved.v === 1 ? saved : {}) };
  /** The lens in an editor tab (extension/vscode/lens-panel.ts): the followed message's tokens beside the lens, no composer. */
  const editorMode = root.dataset.mode === 'lens';
  if (editorMode) ui.lensOpen = true;
  /** The message the sidebar's lens was last opened on, told to the host (an editor-tab lens follows it). */
  let followed: string | undefined;
  const stats: AppStats = { messages: 0, frames: 0, tokensReceived: 0, tokensRendered: 0, flushes: 0 };
  const tokenTurns = new Set(ui.tokenTurns);
  let pendingTokens = 0;

  const saveUi = () => host.setState({ ...ui, tokenTurns: [...tokenTurns].slice(-200) });

  // ---- rendering ----
  // Host messages only change the store (its versions say what moved); UI changes mark `scheduler` dirty.
  const scheduler = new Scheduler((dirty) => {
    try {
      render(dirty);
    } catch (error) {
      host.post({ type: 'webview.error', message: `render: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
    }
  });
  const flush = () => scheduler.flush();
  /** The turn element that carries `lens-selected` (the message the lens shows). */
  let highlighted: HTMLElement | undefined;
  const scroll = new ScrollFollower(() => transcript);

  function render(dirty: ReadonlySet<Dirty>): void {
    stats.flushes++;
    const toBottom = scroll.beforeRender();
    if (dirty.has('recolor')) transcript.recolor();
    tour.follow();
    transcript.flush(dirty);
    markSelectedTurn();
    if (!editorMode && ui.lensTurn && ui.lensTurn !== followed) {
      followed = ui.lensTurn;
      host.post({ type: 'lens.follow', turnId: followed });
    }
    stats.tokensRendered += pendingTokens;
    pendingTokens = 0;
    scroll.afterRender(toBottom);
    renderChrome();
    if (ui.lensOpen) lensRefresh.render(dirty, ui.tab === 'token');
  }

  /** Move the highlight to the message the lens shows (it changes with selection, removal, new routing). */
  function markSelectedTurn(): void {
    const id = selectedTurnModel()?.id;
    const el = id ? transcript.view(id)?.el : undefined;
    if (el === highlighted) return;
    highlighted?.classList.remove('lens-selected');
    el?.classList.add('lens-selected');
    highlighted = el;
  }

  // ---- UI pieces ----
  const modelLine = new ModelLine({ post: (m) => host.post(m), setView: (view) => setView(view), toggleLens: () => setLensOpen(!ui.lensOpen) });

  const selectedTurnModel = () => {
    const id = ui.lensTurn ?? ui.selected?.turnId;
    const t = id ? store.get(id) : undefined;
    if (t) return t;
    for (let i = store.turns.length - 1; i >= 0; i--) if (store.turns[i].hasRouting) return store.turns[i];
    return undefined;
  };

  const transcript = new Transcript(
    store,
    {
      post: (m) => host.post(m),
      selectToken: (turnId, pos, focus) => selectToken(turnId, pos, focus),
      selectTurn: (turnId) => {
        ui.lensTurn = turnId;
        saveUi();
        scheduler.invalidate('lens');
      },
      toggleTokens: (turnId) => {
        const on = !tokenTurns.has(turnId);
        if (on) tokenTurns.add(turnId);
        else tokenTurns.delete(turnId);
        ui.autoTokens = on;
        if (on) {
          ui.lensTurn = turnId;
          if (!ui.lensOpen) ui.lensOpen = true;
        }
        saveUi();
        scheduler.invalidate(`turn:${turnId}`, 'lens');
        flush();
      },
      isTokenView: (turnId) => tokenTurns.has(turnId),
      colorMode: () => ui.mode,
      selection: () => ui.selected,
      continuesText,
      send: (text) => sendText(text),
      tour: () => tour.start(),
    },
    () => {
      if (scroll.scrolled()) scheduler.invalidate('window');
    },
  );

  // What-if comparisons from the grid's expert actions: host data held by the view, shown by the lens.
  const whatIf: WhatIfView = new WhatIfView({
    post: (m) => host.post(m),
    selection: () => ui.selected,
    heatGrid: (summary, testid, max, diff): HTMLElement => heatGrid((l) => store.layerId(l), summary, 'topk', testid, max, diff, store.model.info?.routing),
    invalidate: () => scheduler.invalidate('lens'),
    experts: () => store.experts,
    turnId: () => selectedTurnModel()?.id,
    editor: editorMode,
  });
  const lens: LensPanel = new LensPanel(store, {
    post: (m) => host.post(m),
    ui: () => ui,
    setUi: (patch) => {
      const modeChanged = patch.mode !== undefined && patch.mode !== ui.mode;
      Object.assign(ui, patch);
      saveUi();
      if (modeChanged) scheduler.invalidate('recolor');
      applyNumbers();
      scheduler.invalidate('lens');
      flush();
    },
    selection: () => ui.selected,
    selectedTurn: selectedTurnModel,
    close: () => setLensOpen(false),
    expertMenu: (cell, at) => whatIf.openMenu(cell, at),
    whatIf: (): HTMLElement | undefined => whatIf.render(),
  });

  const lensRefresh = new LensRefresh(store, lens, (ms) => scheduler.wakeIn(ms));

  // The demo tour sends two texts and then shows both answers as tokens, with the lens open on the last.
  const tour = new Tour(store, {
    send: (text) => sendText(text),
    showTokens: (ids) => {
      for (const id of ids) {
        tokenTurns.add(id);
        scheduler.invalidate(`turn:${id}`);
      }
      ui.lensTurn = ids[ids.length - 1];
      setLensOpen(true);
    },
  });

  const composer = new Composer({ post: (m) => host.post(m), send: (text) => sendText(text) });

  const chatView = h('div', { class: 'chat-view', 'data-testid': 'chat-view' }, tour.el, transcript.el, lens.el, composer.el);
  const evals = new EvalsTab(host);
  // Screen readers hear when an answer finishes (the transcript itself is not a live region while streaming).
  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', 'data-testid': 'announcer' });
  const app = h('div', { class: editorMode ? 'app lens-editor' : 'app', 'data-testid': 'app' }, modelLine.el, chatView, evals.el, announcer);
  root.append(app);

  function sendText(text: string): boolean {
    if (!text.trim() || store.generating) return false;
    host.post({ type: 'chat.send', text });
    scroll.followBottom();
    return true;
  }

  /** The model continues text rather than answering (the built-in demo; known as the demo before it loads). */
  function continuesText(): boolean {
    return store.model.info ? store.model.info.continuesText : store.model.isDemo;
  }

  /** Opening the lens shows something coloured: the lens's message (else the last one with routing) as tokens. */
  function setLensOpen(open: boolean): void {
    ui.lensOpen = open;
    if (open && tokenTurns.size === 0) {
      const withRouting = store.turns.filter((t) => t.routing.count > 0);
      const target = store.get(ui.lensTurn ?? '') ?? withRouting.filter((t) => t.info.role === 'assistant').pop() ?? withRouting.pop();
      if (target) {
        tokenTurns.add(target.id);
        ui.lensTurn = target.id;
        ui.autoTokens = true;
        scheduler.invalidate(`turn:${target.id}`);
      }
    }
    saveUi();
    scheduler.invalidate('lens');
    flush();
  }

  function setView(view: AppView): void {
    ui.view = view;
    saveUi();
    renderChrome();
    if (view === 'evals') evals.open();
  }

  function applyNumbers(): void {
    app.classList.toggle('show-numbers', ui.numbers);
  }

  function selectToken(turnId: string, pos: number, focus: boolean): void {
    const prev = ui.selected;
    const wasOpen = ui.lensOpen;
    const tabBefore = ui.tab;
    ui.selected = { turnId, pos };
    ui.lensTurn = turnId;
    if (!ui.lensOpen) ui.lensOpen = true;
    if (ui.tab !== 'token' && (!prev || prev.turnId !== turnId || ui.tab === 'compare')) ui.tab = 'token';
    saveUi();
    if (prev && prev.turnId !== turnId) transcript.view(prev.turnId)?.selectToken(undefined, false);
    transcript.view(turnId)?.selectToken(pos, focus);
    // The grid renders on the next frame: key repeat never queues more than one grid per frame. Opening
    // the lens or switching its tab needs a full render; otherwise only the token tab changes.
    scheduler.invalidate(!wasOpen || tabBefore !== ui.tab || prev?.turnId !== turnId ? 'lens' : 'lens-token');
  }

  function renderChrome(): void {
    modelLine.render(store.model, ui.view, ui.lensOpen);
    composer.render(store.generating, continuesText());
    setHidden(lens.el, !ui.lensOpen);
    setHidden(chatView, ui.view !== 'chat');
    setHidden(evals.el, ui.view !== 'evals');
    setAttr(app, 'data-state', store.model.state);
  }

  // ---- host messages ----
  const target: MessageTarget = {
    store,
    ui,
    tokenTurns,
    editorMode,
    scroll,
    whatIf,
    invalidate: (...keys) => scheduler.invalidate(...keys),
    flush,
    framesArrived: (tokens) => {
      stats.frames++;
      stats.tokensReceived += tokens;
      pendingTokens += tokens;
    },
    forgetHighlight: () => (highlighted = undefined),
    announce: (text) => (announcer.textContent = text),
    setView,
    setLensOpen,
    focusInput: () => composer.focusIfViewFocused(),
  };
  function handle(msg: HostToWebview): void {
    stats.messages++;
    try {
      applyHostMessage(msg, target);
    } catch (error) {
      host.post({ type: 'webview.error', message: `${msg.type}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` });
    }
  }

  const unlisten = host.onMessage(handle);
  const onResize = () => scheduler.invalidate('window');
  window.addEventListener('resize', onResize);
  applyNumbers();
  renderChrome();
  if (ui.view === 'evals') setView('evals');
  host.ready();

  return {
    store,
    stats,
    flush,
    handle,
    dispose() {
      unlisten();
      window.removeEventListener('resize', onResize);
      scheduler.dispose();
      app.remove();
    },
  };
}
