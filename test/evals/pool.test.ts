// The runner's worker pool: N at once, results committed in position order whatever order they finish in, and a
// stop that keeps what finished.
import { describe, expect, it } from 'vitest';
import { orderedPool } from '../../extension/evals/pool';

/** Work that finishes when the test says so: finish(at, result) resolves position `at`'s work. */
function controlled<R>() {
  const pending = new Map<number, (r: R | undefined) => void>();
  const started: number[] = [];
  return {
    started,
    work: (at: number) =>
      new Promise<R | undefined>((resolve) => {
        started.push(at);
        pending.set(at, resolve);
      }),
    /** Finishes a started position and lets the pool react (commits, new positions taken). */
    finish: async (at: number, result: R | undefined) => {
      pending.get(at)!(result);
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

describe('orderedPool', () => {
  it('runs width at once and commits in position order though later positions finish first', async () => {
    const c = controlled<string>();
    const committed: number[] = [];
    const pool = orderedPool(5, 3, c.work, async (result, at) => {
      expect(result).toBe(`r${at}`);
      committed.push(at);
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(c.started).toEqual([0, 1, 2]);
    await c.finish(2, 'r2');
    await c.finish(1, 'r1');
    // 1 and 2 wait for 0; their workers took 3 and 4.
    expect(committed).toEqual([]);
    expect(c.started).toEqual([0, 1, 2, 3, 4]);
    await c.finish(0, 'r0');
    expect(committed).toEqual([0, 1, 2]);
    await c.finish(4, 'r4');
    await c.finish(3, 'r3');
    await pool;
    expect(committed).toEqual([0, 1, 2, 3, 4]);
  });

  it('a stop takes no new position and commits what finished, in order, skipping the gaps', async () => {
    const c = controlled<number>();
    const committed: number[] = [];
    const pool = orderedPool(10, 3, c.work, async (result) => void committed.push(result));
    await new Promise((r) => setTimeout(r, 0));
    await c.finish(1, 1); // its worker takes 3
    await c.finish(0, undefined); // stops the pool: nothing more is taken
    await c.finish(3, 3);
    await c.finish(2, 2);
    await pool;
    expect(c.started).toEqual([0, 1, 2, 3]);
    expect(committed).toEqual([1, 2, 3]);
  });

  it('one at a time with width 1, and nothing for no positions', async () => {
    const order: string[] = [];
    await orderedPool(3, 1, async (at) => (order.push(`work ${at}`), at), async (at) => void order.push(`commit ${at}`));
    expect(order).toEqual(['work 0', 'commit 0', 'work 1', 'commit 1', 'work 2', 'commit 2']);
    await orderedPool(0, 4, async () => { throw new Error('no work expected'); }, async () => undefined);
  });
});
