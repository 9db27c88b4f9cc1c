// The webview's one render scheduler. Data changes need no marking: they bump versions in the store, and each
// view compares them with what it rendered. What the store cannot know — UI state the user changed — goes into
// the one dirty set. Everything renders in at most one animation frame at a time.

/**
 * UI invalidations: `lens` (the whole lens panel: tab, mode, selection of another message), `lens-token` (only
 * the selected token's grid), `recolor` (token colours after a colour-mode change), `window` (the transcript's
 * visibility pass: scroll, resize), `turn:<id>` (one turn's body: token view switched on or off).
 */
export type Dirty = 'lens' | 'lens-token' | 'recolor' | 'window' | `turn:${string}`;

export class Scheduler {
  private dirty = new Set<Dirty>();
  private frame = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `render` gets what was marked since the last render; it runs inside a frame or from `flush()`. */
  constructor(private render: (dirty: ReadonlySet<Dirty>) => void) {}

  /** Mark UI state dirty (optional) and render on the next frame. */
  invalidate(...keys: Dirty[]): void {
    for (const k of keys) this.dirty.add(k);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.flush();
    });
  }

  /** Render now (a user action answered in this frame; tests and benchmarks). */
  flush(): void {
    if (this.frame) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    const dirty = this.dirty;
    this.dirty = new Set();
    this.render(dirty);
  }

  /** Render again after `ms` (a throttled view that skipped this frame), unless a wake-up is already set. */
  wakeIn(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.invalidate();
    }, ms);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    if (this.timer) clearTimeout(this.timer);
    this.frame = 0;
    this.timer = undefined;
  }
}
