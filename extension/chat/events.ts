// A minimal event emitter (vscode-free, same shape as vscode.Event: returns a disposable).
export type Listener<T> = (value: T) => void;

export class Emitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch {
        // A listener's failure must not break the emitter's owner.
      }
    }
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export type { Log, LogLevel } from '../engine/types';
