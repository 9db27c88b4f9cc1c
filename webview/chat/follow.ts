// Where the transcript scrolls: it stays at the bottom while the user is there (streaming keeps it there), lets
// go when the user scrolls up, comes back for a new question or conversation, and brings a failed turn into view.

import type { Transcript } from './transcript';

export class ScrollFollower {
  /** Keep the transcript scrolled to the bottom (the user was there). */
  private stick = true;
  /** scrollTop right after our last automatic scroll to the bottom (a smaller one means the user scrolled up). */
  private autoScrollTop = 0;
  /** A turn brought into view at the next render, wherever the user had scrolled. */
  private revealId: string | undefined;

  constructor(private readonly transcript: () => Transcript) {}

  /** Scroll to the bottom and stay there (a new question, a new conversation), wherever the user was. */
  followBottom(): void {
    this.stick = true;
    this.autoScrollTop = this.transcript().el.scrollTop;
  }

  reveal(turnId: string): void {
    this.revealId = turnId;
  }

  /** A scroll event: true when the transcript must re-window (not our own scroll to the bottom while streaming). */
  scrolled(): boolean {
    const t = this.transcript();
    if (this.stick && Math.abs(t.el.scrollTop - this.autoScrollTop) <= 1) return false;
    this.stick = t.atBottom;
    if (this.stick) this.autoScrollTop = t.el.scrollTop;
    return true;
  }

  /** Before a render: whether to scroll to the bottom after it. */
  beforeRender(): boolean {
    const t = this.transcript();
    if (t.el.scrollTop < this.autoScrollTop - 2) this.stick = t.atBottom;
    return this.stick;
  }

  /** After a render: to the bottom when the user was there, then the turn to reveal. */
  afterRender(toBottom: boolean): void {
    const t = this.transcript();
    if (toBottom) {
      t.scrollToBottom();
      this.autoScrollTop = t.el.scrollTop;
    }
    if (this.revealId) {
      t.view(this.revealId)?.el.scrollIntoView?.({ block: 'nearest' });
      this.revealId = undefined;
    }
  }
}
