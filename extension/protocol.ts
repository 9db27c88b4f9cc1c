// Messages between the extension host and the webview. Types and constants only: no `vscode` import,
// shared by extension/vscode/* and webview/*. The host owns all state; the webview asks for a snapshot
// with `ready` whenever it is (re)created and renders what the host sends.
//
// Routing travels as typed arrays (VS Code transfers ArrayBuffers to webviews without JSON), batched in
// `chat.frames` (one message per ~16–50 ms of generation, never one per token).

import type { ChatMessage, ModelInfo, TokenPhase, GenerationResult } from './engine/types';
import type { EvalsRequest, EvalsResponse } from './evals/protocol';

export const PROTOCOL_VERSION = 1;

/**
 * The webview bundle, relative to the extension root: load `script` as `<script type="module" nonce=…>`
 * and `style` as `<link rel="stylesheet">` (both built by `npm run build:ts`). The page needs no other markup
 * than an empty `<body>`: the script builds its UI into `document.body` (or into `#root` when present).
 */
export const WEBVIEW_ASSETS = { script: 'dist/webview/webview.js', style: 'dist/webview/webview.css' } as const;

/** Routing of a run of consecutive tokens; layout `experts[(t * layers + l) * k + r]`, ranks by weight desc. */
export interface RoutingBlock {
  firstIndex: number;
  phase: TokenPhase;
  ids: Int32Array;
  texts: string[];
  experts: Uint16Array;
  weights: Float32Array;
  k: number;
  layers: number;
}

export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'error';

/** Who wrote a prompt token of a user turn: the user's message, the chat template, the system prompt, or an
 * earlier message evaluated again (the cache could not keep it). */
export type PromptSegmentRole = 'message' | 'template' | 'system' | 'history';
/** Token positions start..end-1 of the turn's routing. */
export interface PromptSegment {
  start: number;
  end: number;
  role: PromptSegmentRole;
}

/** What can help after a failed turn: the error turn offers exactly these buttons. */
export type ErrorAction = 'retry' | 'select-model' | 'open-settings' | 'new-chat';

export interface ChatTurn {
  id: string;
  role: ChatMessage['role'];
  /** Text shown in the transcript (for a summarize request: a short label; `content` is what the model got). */
  display: string;
  content: string;
  status: MessageStatus;
  error?: string;
  /** With `error`: the actions that can help (from the error's code; a bad model file cannot be retried). */
  errorActions?: ErrorAction[];
  /** Routing of this turn's tokens: prompt tokens for user turns, generated tokens for assistant turns. */
  routing: RoutingBlock[];
  /** In the chat, `timeToFirstTokenMs` is the wait from Send to the first token, `modelLoadMs` (when it loaded) included. */
  stats?: Pick<GenerationResult, 'promptTokens' | 'generatedTokens' | 'promptTokensPerSecond' | 'generatedTokensPerSecond' | 'timeToFirstTokenMs' | 'stopReason'> & { modelLoadMs?: number };
  /** Assistant turns: the sampling seed the answer was generated with (a what-if regenerates with it). */
  seed?: number;
  /** Visible notes, e.g. "older turns trimmed to fit the context", "selection trimmed". */
  notes?: string[];
  /** Summarize Selection turns: the code that was sent and where it came from (the chip that opens the range). */
  source?: { fileName: string; languageId: string; startLine: number; endLine: number; code: string };
  /** User turns: which of the prompt tokens are the message's own, the template's, the system prompt's or history. */
  promptSegments?: PromptSegment[];
}

export type EngineState = 'idle' | 'starting' | 'loading' | 'ready' | 'generating' | 'error';

export interface ModelSummary {
  info?: ModelInfo;
  /** What the header shows: the loaded model's name, else the configured one's ("demo model", a file name). */
  label: string;
  isDemo: boolean;
  state: EngineState;
  error?: string;
  captureRouting: boolean;
}

export interface Snapshot {
  protocolVersion: number;
  turns: ChatTurn[];
  model: ModelSummary;
  /** Model ids of the layers in routing arrays (e.g. [0,1,2,...]). */
  moeLayers: number[];
}

/** An expert's context action in the lens grid: regenerate without it (in its layer or in all), or with it forced. */
export type WhatIfAction = 'ablate-layer' | 'ablate-all' | 'force';

/** One answer of a what-if comparison: its text, its generated tokens' texts and ids, and their routing. */
export interface WhatIfAnswer {
  text: string;
  tokens: string[];
  ids: number[];
  routing: RoutingBlock[];
}

/**
 * An answer regenerated with the same messages and seed under an intervention, beside the original. Sent when it
 * starts ('running', no variant yet) and when it ends.
 */
export interface WhatIfState {
  id: string;
  /** The assistant turn regenerated. */
  turnId: string;
  action: WhatIfAction;
  /** Model layer id and expert of the action. */
  layer: number;
  expert: number;
  /** "without expert 3 in layer 2", "with only expert 3 in layer 2", … */
  label: string;
  status: 'running' | 'complete' | 'error';
  error?: string;
  original: WhatIfAnswer;
  variant?: WhatIfAnswer;
  /** Index (among the generated tokens) of the first token where the answers part; null when they are identical. */
  firstDifference?: number | null;
}

// ---- webview → host ----
export type WebviewToHost =
  | { type: 'chat.send'; text: string }
  | { type: 'chat.stop' }
  | { type: 'chat.retry'; turnId: string }
  | { type: 'chat.new' }
  | { type: 'chat.insertCode'; code: string }
  | { type: 'chat.copy'; text: string }
  | { type: 'model.select' }
  | { type: 'model.showInfo' }
  | { type: 'settings.open' }
  /** Reveal the source range of a Summarize Selection turn in its editor. */
  | { type: 'editor.reveal'; turnId: string }
  | { type: 'routing.setCapture'; enabled: boolean }
  | { type: 'routing.export'; format: 'jsonl' | 'csv'; turnIds: string[] }
  /** Regenerate an assistant turn with the same seed under an intervention on one expert (the lens grid's action). */
  | { type: 'lens.whatIf'; turnId: string; layer: number; expert: number; action: WhatIfAction }
  /** Open the lens in an editor tab on a message (default: the last one with routing); an open tab follows it. */
  | { type: 'lens.openInEditor'; turnId?: string }
  /** The sidebar's lens was opened on another message: an open editor-tab lens follows it. */
  | { type: 'lens.follow'; turnId: string }
  /** "Keep this answer": the what-if's regenerated answer replaces the original in the conversation. */
  | { type: 'lens.keepWhatIf'; whatIfId: string }
  /** An unexpected error inside the webview, for the host's output channel (the webview keeps running). */
  | { type: 'webview.error'; message: string };

// ---- host → webview ----
// Semantics the webview implements:
// - `snapshot` replaces everything (sent in answer to `ready`, or whenever the host prefers a full resync).
// - `chat.turnAdded` appends a turn; with the id of an existing turn it replaces that turn, routing included
//   (use it to restart a turn on Retry).
// - `chat.frames` appends `textDelta` to the turn's `display` and `content` and its `routing` blocks to the
//   turn's routing; it may target a user turn (prompt routing, textDelta '') or an assistant turn.
// - `chat.turnUpdated` replaces every field but `routing` (status, error, stats, notes, and the full text).
// - `chat.turnRemoved` drops a turn.
// - `lens.show` opens the expert lens on a turn (default: the last turn with routing).
export type HostToWebview =
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'chat.turnAdded'; turn: ChatTurn }
  | { type: 'chat.frames'; turnId: string; textDelta: string; routing: RoutingBlock[] }
  | { type: 'chat.turnUpdated'; turn: Omit<ChatTurn, 'routing'> }
  | { type: 'chat.turnRemoved'; turnId: string }
  | { type: 'model.state'; model: ModelSummary }
  | { type: 'view.focusInput' }
  | { type: 'lens.show'; turnId?: string }
  | { type: 'lens.whatIf'; whatIf: WhatIfState }
  /** Eval news the view did not ask for (progress, a finished run); answers to its requests come as `response`. */
  | { type: 'evals.update'; body: EvalsResponse };

// ---- every webview and its host (extension/vscode/webview-host.ts, webview/host.ts) ----

/** What one kind of webview and its host say: notifications both ways, and requests answered by id. */
export interface ViewProtocol {
  toHost: { type: string };
  toView: { type: string };
  request: unknown;
  response: unknown;
}

/** The bundle's pages (sidebar, lens tab, evals tab): the chat messages, and the evals view's requests. */
export interface BundleProtocol {
  toHost: WebviewToHost;
  toView: HostToWebview;
  request: EvalsRequest;
  response: EvalsResponse;
}

/** Webview → host: a page says `ready` once it listens (again after each reload); a request wants one answer. */
export type ReadyMessage = { type: 'ready' };
export type RequestMessage<P extends ViewProtocol> = { type: 'request'; id: number; request: P['request'] };
/** Host → webview: the answer to request `id` (no `response` when the host has none to give), or why it failed. */
export type ResponseMessage<P extends ViewProtocol> = { type: 'response'; id: number; response?: P['response']; error?: string };

export type ToHost<P extends ViewProtocol> = P['toHost'] | ReadyMessage | RequestMessage<P>;
export type ToView<P extends ViewProtocol> = P['toView'] | ResponseMessage<P>;
