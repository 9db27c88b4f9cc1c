// The webview's own view state (lens open, view, token views, selection), kept by VS Code across reloads
// (host.setState) and changed by the user and by host messages.

import type { LensUi } from './lens/panel';
import type { AppView } from './model-line';

export interface UiState extends LensUi {
  v: 1;
  lensOpen: boolean;
  view: AppView;
  tokenTurns: string[];
  autoTokens: boolean;
  selected?: { turnId: string; pos: number };
  lensTurn?: string;
}

export const DEFAULT_UI: UiState = { v: 1, lensOpen: false, view: 'chat', tokenTurns: [], autoTokens: false, mode: 'mode', tab: 'token', heat: 'topk', numbers: false, explainOpen: false };
