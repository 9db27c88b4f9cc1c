// A run folder on disk: its file names, reading them back (asynchronously: this runs on the extension host) and
// writing its JSON files whole. samples.jsonl and items.jsonl are read leniently: a line a killed process left
// unfinished is skipped.

import { promises as fs, type Dirent } from 'node:fs';
import * as path from 'node:path';
import { computeSummary } from './aggregate';
import { runModelName } from './model-name';
import type { EvalItem, LoadedRun, RunInfo, RunListEntry, SampleRecord } from './types';

export const SAMPLES_FILE = 'samples.jsonl';
export const RUN_FILE = 'run.json';
export const SUMMARY_FILE = 'summary.json';
export const REPORT_FILE = 'report.md';
export const ITEMS_FILE = 'items.jsonl';

/** A file's text, or undefined where it does not exist. */
async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Lenient JSON Lines reading of files this runner wrote: the parsed non-blank lines with their text, skipping a
 * line that does not parse (a killed process). `clean` is false if one was skipped or the last line is unfinished.
 */
export async function readJsonLines(file: string): Promise<{ records: { value: unknown; line: string }[]; clean: boolean }> {
  const text = (await readIfExists(file)) ?? '';
  const records: { value: unknown; line: string }[] = [];
  let clean = text.length === 0 || text.endsWith('\n');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push({ value: JSON.parse(line), line });
    } catch {
      clean = false;
    }
  }
  return { records, clean };
}

/** Reads samples.jsonl, skipping a truncated or corrupt line (a killed process); `clean` is false if any was skipped. */
export async function readSamples(file: string): Promise<{ samples: SampleRecord[]; clean: boolean }> {
  const read = await readJsonLines(file);
  const samples: SampleRecord[] = [];
  let clean = read.clean;
  for (const { value } of read.records) {
    const rec = value as SampleRecord | null;
    if (rec && typeof rec.key === 'string') samples.push(rec);
    else clean = false;
  }
  return { samples, clean };
}

/** The last record of each key (a retried sample replaces its failed attempt). */
export function latestSamples(samples: SampleRecord[]): SampleRecord[] {
  const byKey = new Map<string, SampleRecord>();
  for (const s of samples) {
    byKey.delete(s.key);
    byKey.set(s.key, s);
  }
  return [...byKey.values()];
}

/** A run folder's run.json, or undefined where there is none; `dir` names the folder in the error of a bad one. */
export async function readRunInfo(dir: string): Promise<RunInfo | undefined> {
  const file = path.join(dir, RUN_FILE);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as RunInfo;
  } catch (error) {
    throw new Error(`${file}: invalid JSON (${(error as Error).message})`);
  }
}

/** Writes a JSON file whole (a temporary file renamed over it: a killed process leaves the old one). */
export async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fs.rename(tmp, file);
}

/** items.jsonl: the items as this run saw them, beside those of earlier runs into the folder (by id). */
export async function writeItemsSnapshot(file: string, items: EvalItem[]): Promise<void> {
  const existing = new Map<string, string>();
  for (const { value, line } of (await readJsonLines(file)).records) {
    if (value !== null) existing.set((value as { id: string }).id, line);
  }
  for (const it of items) {
    existing.set(it.id, JSON.stringify({ id: it.id, title: it.title, document: it.document, references: it.references, source: it.source }));
  }
  await fs.writeFile(file, [...existing.values()].map((l) => l + '\n').join(''));
}

/** Loads a run folder (run.json, samples.jsonl; the summary is computed). */
export async function loadRun(dir: string): Promise<LoadedRun> {
  const abs = path.resolve(dir);
  const info = await readRunInfo(abs);
  if (!info) throw new Error(`${dir} is not an evaluation run (no ${RUN_FILE})`);
  const samples = latestSamples((await readSamples(path.join(abs, SAMPLES_FILE))).samples);
  // Recompute: summary.json may be missing (a killed run) or older than the samples.
  const summary = computeSummary(info, samples);
  return { dir: abs, id: path.basename(abs), info, samples, summary };
}

/** Runs in `dir` (each subfolder with a run.json, and `dir` itself if it is one), newest first. */
export async function listRuns(dir: string): Promise<RunListEntry[]> {
  const abs = path.resolve(dir);
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch {
    return [];
  }
  const candidates = [abs, ...entries.filter((e) => e.isDirectory()).map((e) => path.join(abs, e.name))];
  const runs: RunListEntry[] = [];
  for (const d of candidates) {
    try {
      const info = await readRunInfo(d);
      if (!info) continue;
      runs.push({
        dir: d,
        id: path.basename(d),
        suite: info.suite.name,
        models: info.models,
        modelNames: info.models.map((m) => runModelName(m, info.identities?.[m])),
        variants: info.variants,
        status: info.status,
        startedAt: info.startedAt,
        ...(info.finishedAt ? { finishedAt: info.finishedAt } : {}),
        // run.json is written at the start and the end: a running run's count is its samples file's.
        samples: info.status === 'running' ? latestSamples((await readSamples(path.join(d, SAMPLES_FILE))).samples).length : info.samples.done,
      });
    } catch {
      /* not a readable run */
    }
  }
  return runs.sort(newestFirst);
}

/** Sort order of run lists: the latest start first. */
export function newestFirst(a: Pick<RunListEntry, 'startedAt'>, b: Pick<RunListEntry, 'startedAt'>): number {
  return a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0;
}

/** The snapshot of an item as the run saw it (for the side-by-side view). */
export async function loadRunItem(dir: string, itemId: string): Promise<(Omit<EvalItem, 'source'> & { source?: EvalItem['source'] }) | undefined> {
  const { records } = await readJsonLines(path.join(path.resolve(dir), ITEMS_FILE));
  return records.find((r) => (r.value as EvalItem | null)?.id === itemId)?.value as EvalItem | undefined;
}
