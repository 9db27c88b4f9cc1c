// A worker pool whose results are committed in order: what a run uses to generate N samples at once while its
// samples file stays in work-list order.

/**
 * Runs `work` on positions 0..n-1, up to `width` at once, and hands each result to `commit` in position order as soon
 * as every earlier one is committed (so a killed process loses at most width-1 finished results). `work` returns
 * undefined to stop the pool: no new position is taken, and what finished is still committed in order, skipping the
 * positions that did not finish.
 */
export async function orderedPool<R>(
  n: number,
  width: number,
  work: (at: number) => Promise<R | undefined>,
  commit: (result: R, at: number) => Promise<void>,
): Promise<void> {
  const results: (R | undefined)[] = new Array<R | undefined>(n);
  let taken = 0;
  let committed = 0;
  let stopped = false;
  // Commits run one after the other, whichever worker finished.
  let writing = Promise.resolve();
  const flush = (skipGaps: boolean) =>
    (writing = writing.then(async () => {
      for (; committed < n; committed++) {
        const result = results[committed];
        if (result === undefined) {
          if (skipGaps) continue;
          break;
        }
        await commit(result, committed);
      }
    }));
  const worker = async () => {
    while (!stopped && taken < n) {
      const at = taken++;
      const result = await work(at);
      if (result === undefined) {
        stopped = true;
        break;
      }
      results[at] = result;
      await flush(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  await flush(true);
}
