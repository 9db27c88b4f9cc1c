// When the lens redraws: whole when the UI asks or the model or the list of turns changed; its aggregates follow
// new tokens at most 4 times a second while streaming; a new selected token redraws only the token tab.

import type { Dirty } from '../scheduler';
import type { Store } from '../store';

export class LensRefresh {
  /** The store's versions that the lens shows, and when it last rendered. */
  private seen = { model: -1, structure: -1, data: -1 };
  private last = 0;

  constructor(
    private readonly store: Store,
    private readonly lens: { render(): void; renderToken(): void },
    /** Asks for a render in `ms` (the next aggregate refresh while streaming). */
    private readonly wakeIn: (ms: number) => void,
  ) {}

  render(dirty: ReadonlySet<Dirty>, tokenTab: boolean): void {
    const { store } = this;
    const now = performance.now();
    const whole = dirty.has('lens') || this.seen.model !== store.modelVersion || this.seen.structure !== store.structureVersion;
    const dataMoved = this.seen.data !== store.version && !tokenTab;
    if (whole || (dataMoved && (!store.generating || now - this.last > 250))) {
      this.lens.render();
      this.last = now;
      this.seen = { model: store.modelVersion, structure: store.structureVersion, data: store.version };
      return;
    }
    if (dataMoved) this.wakeIn(250 - (now - this.last));
    if (dirty.has('lens-token')) this.lens.renderToken();
  }
}
