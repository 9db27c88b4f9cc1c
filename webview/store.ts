// The webview's copy of the conversation, fed by host messages. The host owns the truth; this mirrors it
// and keeps per-turn routing indexes and incremental aggregates.

import type { ChatTurn, ModelSummary, RoutingBlock, Snapshot } from '../extension/protocol';
import { RoutingAggregator, RoutingIndex, normalizeRoutingBlock } from '../extension/routing';

export type TurnInfo = Omit<ChatTurn, 'routing'>;

export class TurnModel {
  info: TurnInfo;
  readonly routing = new RoutingIndex();
  agg: RoutingAggregator;
  /** Bumped when the text changes (views compare to what they rendered). */
  textVersion = 0;

  constructor(turn: ChatTurn, experts: number) {
    const { routing, ...info } = turn;
    this.info = { ...info };
    this.agg = new RoutingAggregator({ experts });
    for (const b of routing ?? []) this.addRouting(b);
  }

  get id(): string {
    return this.info.id;
  }

  addRouting(raw: RoutingBlock): RoutingBlock {
    const block = normalizeRoutingBlock(raw);
    this.routing.add(block);
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
    this.textVersion++;
  }

  update(info: TurnInfo): void {
    const textChanged = info.display !== this.info.display;
    this.info = { ...info };
    if (textChanged) this.textVersion++;
  }

  get hasRouting(): boolean {
    return this.agg.tokens > 0;
  }
}

export class Store {
  turns: TurnModel[] = [];
  private byId = new Map<string, TurnModel>();
  model: ModelSummary = { label: 'model', isDemo: false, state: 'idle', captureRouting: true };
  moeLayers: number[] = [];

  get experts(): number {
    return this.model.info?.experts ?? 1;
  }

  load(snapshot: Snapshot): void {
    this.model = snapshot.model;
    this.moeLayers = snapshot.moeLayers ?? [];
    this.turns = [];
    this.byId.clear();
    for (const t of snapshot.turns) this.put(t);
  }

  get(id: string): TurnModel | undefined {
    return this.byId.get(id);
  }

  /** Add a turn, or replace the turn with the same id (routing included). */
  put(turn: ChatTurn): { model: TurnModel; replaced: boolean } {
    const model = new TurnModel(turn, this.experts);
    const old = this.byId.get(turn.id);
    this.byId.set(turn.id, model);
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
    return this.moeLayers[l] ?? this.model.info?.moeLayers?.[l] ?? l;
  }
}
