// The webview's copy of the conversation, fed by host messages. The host owns the truth; this mirrors it
// and keeps per-turn routing indexes and incremental aggregates.
//
// Every change bumps a version, drawn from one counter per store: a turn's `textVersion`, `routingVersion`
// and `infoVersion`, the store's `structureVersion` (turns added, replaced, removed) and `version` (anything).
// Views remember the versions they rendered and redraw only what moved; host messages only touch the store.

import type { ChatTurn, ModelSummary, RoutingBlock, Snapshot } from '../extension/protocol';
import { RoutingAggregator, RoutingIndex, normalizeRoutingBlock } from '../extension/routing';

export type TurnInfo = Omit<ChatTurn, 'routing'>;

/** The store's version counter: every change anywhere takes the next number. */
class Versions {
  current = 0;
  next(): number {
    return ++this.current;
  }
}

export class TurnModel {
  info: TurnInfo;
  readonly routing = new RoutingIndex();
  agg: RoutingAggregator;
  /** Versions of the text, the routing and the other fields (status, error, stats, notes, segments). */
  textVersion: number;
  routingVersion: number;
  infoVersion: number;

  constructor(
    turn: ChatTurn,
    experts: number,
    private versions: Versions,
  ) {
    const { routing, ...info } = turn;
    this.info = { ...info };
    this.agg = new RoutingAggregator({ experts });
    this.textVersion = this.routingVersion = this.infoVersion = versions.next();
    for (const b of routing ?? []) this.addRouting(b);
  }

  get id(): string {
    return this.info.id;
  }

  addRouting(raw: RoutingBlock): RoutingBlock {
    const block = normalizeRoutingBlock(raw);
    this.routing.add(block);
    this.routingVersion = this.versions.next();
    try {
      this.agg.add(block);
    } catch (error) {
      console.warn('MoE Lens: routing block skipped in aggregates', error);
    }
    return block;
  }

  appendText(delta: string): void {
    if (!delta) return;
    this.info.display += delta;
    this.info.content += delta;
    this.textVersion = this.versions.next();
  }

  update(info: TurnInfo): void {
    const textChanged = info.display !== this.info.display;
    this.info = { ...info };
    this.infoVersion = this.versions.next();
    if (textChanged) this.textVersion = this.infoVersion;
  }

  get hasRouting(): boolean {
    return this.agg.tokens > 0;
  }
}

export class Store {
  turns: TurnModel[] = [];
  private byId = new Map<string, TurnModel>();
  private _model: ModelSummary = { label: 'model', isDemo: false, state: 'idle', captureRouting: true };
  moeLayers: number[] = [];
  private versions = new Versions();
  /** Turns added, replaced or removed. */
  structureVersion = 0;
  /** A snapshot replaced the whole conversation. */
  loadVersion = 0;
  modelVersion = 0;

  /** The latest change to anything in the store (the lens re-renders its aggregates when this moves). */
  get version(): number {
    return this.versions.current;
  }

  get model(): ModelSummary {
    return this._model;
  }

  set model(model: ModelSummary) {
    this._model = model;
    const moeLayers = model.info?.routing?.moeLayers;
    if (moeLayers?.length) this.moeLayers = moeLayers;
    this.modelVersion = this.versions.next();
  }

  get experts(): number {
    const info = this.model.info;
    return info ? (info.routing?.experts ?? 0) : 1;
  }

  load(snapshot: Snapshot): void {
    this.model = snapshot.model;
    this.moeLayers = snapshot.moeLayers ?? [];
    this.turns = [];
    this.byId.clear();
    for (const t of snapshot.turns) this.put(t);
    this.loadVersion = this.versions.next();
  }

  get(id: string): TurnModel | undefined {
    return this.byId.get(id);
  }

  /** Add a turn, or replace the turn with the same id (routing included). */
  put(turn: ChatTurn): { model: TurnModel; replaced: boolean } {
    const model = new TurnModel(turn, this.experts, this.versions);
    const old = this.byId.get(turn.id);
    this.byId.set(turn.id, model);
    this.structureVersion = this.versions.next();
    if (old) {
      this.turns[this.turns.indexOf(old)] = model;
      return { model, replaced: true };
    }
    this.turns.push(model);
    return { model, replaced: false };
  }

  remove(id: string): boolean {
    const old = this.byId.get(id);
    if (!old) return false;
    this.byId.delete(id);
    this.turns.splice(this.turns.indexOf(old), 1);
    this.structureVersion = this.versions.next();
    return true;
  }

  /**
   * Aggregates of the whole conversation (sum of the turns; no token pairs across turns). Turns routed by a
   * model of another shape (layers × k, after a model switch) are left out and counted in `skipped`.
   */
  conversationAggregate(): { agg: RoutingAggregator; skipped: number } {
    const routed = this.turns.filter((t) => t.agg.layers > 0);
    const last = routed[routed.length - 1];
    const same = routed.filter((t) => last && t.agg.layers === last.agg.layers && t.agg.k === last.agg.k);
    return {
      agg: RoutingAggregator.mergeAll(
        same.map((t) => t.agg),
        { experts: this.experts },
      ),
      skipped: routed.length - same.length,
    };
  }

  get generating(): boolean {
    return this.model.state === 'generating' || this.turns.some((t) => t.info.status === 'streaming');
  }

  /** Model layer id of routing layer position l (falls back to l). */
  layerId(l: number): number {
    return this.moeLayers[l] ?? this.model.info?.routing?.moeLayers[l] ?? l;
  }
}
