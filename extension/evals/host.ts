// Answers the evals view's requests from run folders on disk (no vscode): the VS Code adapter forwards
// webview messages here and posts the answer back. Folders outside the configured runs folders are refused.

import * as path from 'node:path';
import type { EvalsRequest, EvalsResponse } from './protocol';
import { compareRuns } from './aggregate';
import { listRuns, loadRun, loadRunItem, newestFirst } from './runner';
import type { RunListEntry } from './types';

export interface EvalsHostOptions {
  /** Folders holding run folders (e.g. <workspace>/eval-runs); a run folder itself is accepted too. */
  runsDirs: string[];
}

function inside(dir: string, roots: string[]): boolean {
  const abs = path.resolve(dir);
  return roots.some((root) => {
    const rel = path.relative(path.resolve(root), abs);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** The answer to a view request, or undefined for requests the adapter handles itself (evals.cancel). */
export async function answerEvalsRequest(msg: EvalsRequest, options: EvalsHostOptions): Promise<EvalsResponse | undefined> {
  const check = (dir: string) => {
    if (!inside(dir, options.runsDirs)) throw new Error(`${dir} is not inside the evaluation runs folder`);
    return dir;
  };
  try {
    switch (msg.type) {
      case 'evals.listRuns': {
        const seen = new Set<string>();
        const runs: RunListEntry[] = [];
        for (const d of options.runsDirs) for (const r of await listRuns(d)) if (!seen.has(r.dir)) { seen.add(r.dir); runs.push(r); }
        runs.sort(newestFirst);
        return { type: 'evals.runs', runs };
      }
      case 'evals.openRun':
        return { type: 'evals.run', run: await loadRun(check(msg.dir)) };
      case 'evals.openItem':
        return { type: 'evals.item', dir: path.resolve(check(msg.dir)), item: (await loadRunItem(msg.dir, msg.itemId)) ?? null };
      case 'evals.compare':
        if (msg.dirs.length < 1) throw new Error('choose runs to compare');
        return { type: 'evals.comparison', comparison: compareRuns(await Promise.all(msg.dirs.map((d) => loadRun(check(d))))) };
      case 'evals.cancel':
      case 'evals.openInEditor':
        return undefined;
    }
  } catch (error) {
    return { type: 'evals.error', message: (error as Error).message };
  }
  return undefined;
}
