// Runs a suite: every (model × variant × item) sample, one JSON line per finished sample in OUT/samples.jsonl,
// then OUT/summary.json, OUT/report.md and OUT/run.json. Resumable (finished samples are skipped), cancellable
// (AbortSignal; finished samples are kept). Works with any `Engine`. With `concurrency` N > 1 and an engine that
// reports `concurrentRequests` (a server), up to N samples are generated at once; samples.jsonl stays in the order
// of the work list (a finished sample waits for the ones before it, so a killed run loses at most N-1 finished
// samples, which a resume redoes). A server that cannot be reached stops the run with its error.

import { EtaEstimator } from './progress';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isAbort, isEngineError } from '../engine/errors';
import { withExpertsPerToken } from '../engine/backends';
import { formatIntervention, interventionFromSpecs } from '../engine/intervention';
import { formatModelName, formatPerplexity } from '../format';
import type { Engine, GenerateInput, Intervention, LoadOptions, LocalLoadOptions, SamplingOptions } from '../engine/types';
import { prepareInput, type PromptShape } from './long-input';
import { scoreSummary } from './metrics';
import { RoutingAggregator } from '../routing/aggregate';
import { routingSummaryStats } from '../routing/summary-stats';
import { computeSummary, renderReport } from './aggregate';
import type {
  EvalItem,
  EvalProgress,
  EvalSuite,
  LoadedRun,
  PromptVariant,
  RunInfo,
  RunListEntry,
  RunStatus,
  SampleRecord,
  SuiteIntervention,
} from './types';

export { computeSummary, renderReport, compareRuns } from './aggregate';

export type EngineProvider = Engine | (() => Engine | Promise<Engine>);

export interface RunOptions {
  suite: EvalSuite;
  /** GGUF paths, or keys that `modelOptions` maps to load options (a server's model). Each is loaded once. */
  models: string[];
  /** The load options of a model in `models` (default: the GGUF at that path, with `loadOptions`). */
  modelOptions?: (model: string) => LoadOptions;
  /** Samples generated at once (default 1); more than 1 only with an engine that reports `concurrentRequests`. */
  concurrency?: number;
  /** Variant names to run (default: all of the suite's). */
  variants?: string[];
  /** Output folder; created if needed. Re-running with the same folder resumes. */
  outDir: string;
  /** An engine, or a factory called once (the runner then disposes the engine it created). */
  engine: EngineProvider;
  /** Only the first N items. */
  maxItems?: number;
  /** Extra load options (gpuLayers, cpuMoe, threads…); contextSize defaults to the suite's. */
  loadOptions?: Partial<Omit<LocalLoadOptions, 'modelPath' | 'backend'>>;
  /** Record routing of the summaries (default true). */
  captureRouting?: boolean;
  onProgress?: (progress: EvalProgress) => void;
  signal?: AbortSignal;
}

export const SAMPLES_FILE = 'samples.jsonl';
export const RUN_FILE = 'run.json';
export const SUMMARY_FILE = 'summary.json';
export const REPORT_FILE = 'report.md';
export const ITEMS_FILE = 'items.jsonl';

const SEP = '\u241f';
export function sampleKey(model: string, variant: string, itemId: string): string {
  return `${model}${SEP}${variant}${SEP}${itemId}`;
}

/**
 * Lenient JSON Lines reading of files this runner wrote: the parsed non-blank lines with their text, skipping a
 * line that does not parse (a killed process). `clean` is false if one was skipped or the last line is unfinished.
 */
function readJsonLines(file: string): { records: { value: unknown; line: string }[]; clean: boolean } {
  if (!existsSync(file)) return { records: [], clean: true };
  const text = readFileSync(file, 'utf8');
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
export function readSamples(file: string): { samples: SampleRecord[]; clean: boolean } {
  const read = readJsonLines(file);
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

function fingerprintOf(suite: EvalSuite): string {
  return JSON.stringify({
    mode: suite.mode,
    contextSize: suite.contextSize ?? null,
    generation: suite.generation,
    longInput: suite.longInput,
    metrics: suite.metrics,
    // Only when there are some: runs of suites without interventions keep their fingerprints (resume still works).
    ...(suite.interventions?.length
      ? { interventions: suite.interventions.map((iv) => [iv.name, formatIntervention(interventionOf(iv)), iv.expertsPerToken ?? null]) }
      : {}),
  });
}

/** A prompt variant as run: alone (the baseline) or under one of the suite's interventions, named `<variant>+<name>`. */
export interface RunVariant extends PromptVariant {
  intervention?: SuiteIntervention;
}

/** The suite intervention's ablate/force as the engine takes them. */
export function interventionOf(iv: SuiteIntervention | undefined): Intervention | undefined {
  return iv ? interventionFromSpecs({ ablate: iv.ablate, force: iv.force }) : undefined;
}

/** Every prompt variant, then each under every intervention. */
export function runVariantsOf(variants: PromptVariant[], interventions: SuiteIntervention[] = []): RunVariant[] {
  return variants.flatMap((v) => [v, ...interventions.map((iv) => ({ ...v, name: `${v.name}+${iv.name}`, intervention: iv }))]);
}

/** Tokens per chunk and chunks at most of the documents' perplexity under each intervention. */
const PERPLEXITY_CONTEXT = 512;
const PERPLEXITY_CHUNKS = 4;

function samplingOf(suite: EvalSuite): Partial<SamplingOptions> {
  const g = suite.generation;
  const s: Partial<SamplingOptions> = { maxTokens: g.maxTokens, temperature: g.temperature, seed: g.seed };
  if (g.topK !== undefined) s.topK = g.topK;
  if (g.topP !== undefined) s.topP = g.topP;
  if (g.minP !== undefined) s.minP = g.minP;
  if (g.repeatPenalty !== undefined) s.repeatPenalty = g.repeatPenalty;
  if (g.repeatLastN !== undefined) s.repeatLastN = g.repeatLastN;
  if (g.stop !== undefined) s.stop = g.stop;
  return s;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await fs.rename(tmp, file);
}

/** Runs (or resumes) a suite. Returns the loaded run as written. */
export async function runEval(options: RunOptions): Promise<LoadedRun> {
  const { suite, signal } = options;
  const outDir = path.resolve(options.outDir);
  if (options.models.length === 0) throw new Error('no model given');
  const promptVariants = options.variants?.length
    ? options.variants.map((name) => {
        const v = suite.variants.find((x) => x.name === name);
        if (!v) throw new Error(`unknown variant "${name}" (the suite has ${suite.variants.map((x) => x.name).join(', ')})`);
        return v;
      })
    : suite.variants;
  const variants = runVariantsOf(promptVariants, suite.interventions);
  const items = options.maxItems !== undefined ? suite.items.slice(0, Math.max(0, options.maxItems)) : suite.items;

  await fs.mkdir(outDir, { recursive: true });
  const runFile = path.join(outDir, RUN_FILE);
  const samplesFile = path.join(outDir, SAMPLES_FILE);
  const fingerprint = fingerprintOf(suite);

  // Resume: previous settings must match; keep finished samples, drop a truncated last line.
  let previous: RunInfo | undefined;
  if (existsSync(runFile)) {
    previous = JSON.parse(readFileSync(runFile, 'utf8')) as RunInfo;
    if (previous.fingerprint !== fingerprint) {
      throw new Error(`${outDir} holds a run with other settings (mode, generation, long-input or metrics); use another output folder`);
    }
    const prevTemplates = previous.templates ?? {};
    for (const v of variants) {
      if (prevTemplates[v.name] !== undefined && prevTemplates[v.name] !== v.template + (v.system ?? '')) {
        throw new Error(`variant "${v.name}" changed since the run in ${outDir}; use another output folder or rename the variant`);
      }
    }
  }
  const read = readSamples(samplesFile);
  if (!read.clean) {
    await fs.writeFile(samplesFile, read.samples.map((s) => JSON.stringify(s) + '\n').join(''));
  }
  const finished = new Set(read.samples.filter((s) => !s.error).map((s) => s.key));

  const templates: Record<string, string> = {
    ...(previous?.templates ?? {}),
  };
  for (const v of variants) templates[v.name] = v.template + (v.system ?? '');
  const models = [...new Set([...(previous?.models ?? []), ...options.models])];
  const variantNames = [...new Set([...(previous?.variants ?? []), ...variants.map((v) => v.name)])];
  const total = options.models.length * variants.length * items.length;
  let resumed = 0;
  for (const m of options.models) for (const v of variants) for (const it of items) if (finished.has(sampleKey(m, v.name, it.id))) resumed++;

  const info: RunInfo = {
    version: 1,
    suite: { name: suite.name, path: suite.path, items: items.length, itemsFiles: suite.itemsFiles },
    models,
    variants: variantNames,
    mode: suite.mode,
    generation: suite.generation,
    longInput: suite.longInput,
    metrics: suite.metrics,
    ...(suite.contextSize !== undefined ? { contextSize: suite.contextSize } : {}),
    ...(options.maxItems !== undefined ? { maxItems: options.maxItems } : {}),
    fingerprint,
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    status: 'running',
    samples: { total, done: resumed, errors: 0, resumed },
    // A resume that loads no model again keeps what the run said about it (a context beyond its training).
    ...(previous?.warnings?.length ? { warnings: previous.warnings } : {}),
    templates,
    ...(suite.interventions?.length
      ? {
          interventions: suite.interventions,
          variantInterventions: Object.fromEntries(variants.filter((v) => v.intervention).map((v) => [v.name, v.intervention!.name])),
          perplexity: previous?.perplexity ?? {},
        }
      : {}),
  };
  await writeJson(runFile, info);
  await writeItemsSnapshot(path.join(outDir, ITEMS_FILE), items);

  const started = Date.now();
  let done = resumed;
  let generated = 0;
  let generatedTokens = 0;
  let concurrency = 1;
  let errors = 0;
  const workOf = (it: { document: string }) => it.document.length;
  const pending = options.models.flatMap((m) => variants.flatMap((v) => items.filter((it) => !finished.has(sampleKey(m, v.name, it.id)))));
  const eta = new EtaEstimator(pending.reduce((sum, it) => sum + workOf(it), 0), pending.length);
  const emit = (p: Omit<EvalProgress, 'done' | 'total' | 'resumed' | 'elapsedMs' | 'etaMs'>) => {
    const etaMs = eta.estimate();
    options.onProgress?.({ ...p, done, total, resumed, elapsedMs: Date.now() - started, ...(etaMs !== undefined ? { etaMs } : {}) });
  };
  emit({ kind: 'start', message: resumed > 0 ? `resuming: ${resumed} of ${total} samples already done` : undefined });

  let status: RunStatus = 'completed';
  let runError: string | undefined;
  let runFailure: unknown;
  let engine: Engine | undefined;
  const ownsEngine = typeof options.engine === 'function';
  try {
    engine = typeof options.engine === 'function' ? await options.engine() : options.engine;
    // One load per model and top-k (an intervention with expertsPerToken reloads); the baseline's first.
    const loads = options.models.flatMap((modelPath) =>
      [...new Set(variants.map((v) => v.intervention?.expertsPerToken))].map((k) => ({ modelPath, k, variants: variants.filter((v) => v.intervention?.expertsPerToken === k) })),
    );
    outer: for (const { modelPath, k, variants: loadVariants } of loads) {
      const todo = loadVariants.flatMap((v) => items.filter((it) => !finished.has(sampleKey(modelPath, v.name, it.id))).map((it) => ({ v, it })));
      const scoring = suite.interventions?.length
        ? [...new Set(loadVariants.map((v) => v.intervention?.name ?? 'baseline'))].filter((name) => !info.perplexity?.[modelPath]?.[name])
        : [];
      if (todo.length === 0 && scoring.length === 0) continue;
      if (signal?.aborted) { status = 'cancelled'; break; }
      emit({ kind: 'model', model: modelPath, message: `loading ${formatModelName(modelPath)}${k ? ` with ${k} experts per token` : ''}` });
      let loadError: string | undefined;
      const base: LoadOptions = options.modelOptions?.(modelPath) ?? { ...options.loadOptions, modelPath };
      try {
        await engine.load({ ...withExpertsPerToken(base, k), ...(suite.contextSize !== undefined ? { contextSize: suite.contextSize } : {}) }, signal);
      } catch (error) {
        if (isAbort(error, signal)) { status = 'cancelled'; break; }
        if (isFatal(error)) throw error;
        loadError = `could not load the model: ${(error as Error).message}`;
      }
      const loaded = loadError ? undefined : engine.model;
      if (loaded?.trainContextLength && loaded.contextSize > loaded.trainContextLength) {
        const warning = `${loaded.name || formatModelName(modelPath)} runs at a context of ${loaded.contextSize} tokens, more than the ${loaded.trainContextLength} it was trained for: expect degraded output`;
        info.warnings = [...(info.warnings ?? []).filter((w) => w !== warning), warning];
        emit({ kind: 'model', model: modelPath, message: `warning: ${warning}` });
      }
      const width = loaded?.capabilities.concurrentRequests ? Math.max(1, Math.floor(options.concurrency ?? 1)) : 1;
      concurrency = Math.max(concurrency, width);
      const current = engine;
      // Records by work-list position; written in that order as soon as every earlier one is in.
      const records: (SampleRecord | undefined)[] = new Array(todo.length);
      let written = 0;
      let taken = 0;
      let stop: 'cancelled' | { error: unknown } | undefined;
      const write = async (upTo: number, skipGaps: boolean) => {
        for (; written < upTo; written++) {
          const record = records[written];
          if (!record) {
            if (skipGaps) continue;
            break;
          }
          await fs.appendFile(samplesFile, JSON.stringify(record) + '\n');
          done++;
          if (record.error) errors++;
          else if (record.speed) { generated++; generatedTokens += record.speed.generatedTokens; }
          // With N at once, each sample's wall time overlaps the others': its share of the clock is 1/N of it.
          eta.finished(workOf(todo[written].it), record.error ? undefined : (record.speed?.wallMs ?? 0) / width);
          emit({ kind: 'sample', model: modelPath, variant: record.variant, itemId: record.itemId, sample: record });
        }
      };
      let writing = Promise.resolve();
      const worker = async () => {
        while (!stop && taken < todo.length) {
          if (signal?.aborted) { stop = 'cancelled'; break; }
          const at = taken++;
          const { v, it } = todo[at];
          const t0 = Date.now();
          let record: SampleRecord;
          if (loadError) record = errorRecord(modelPath, v.name, it, loadError, t0);
          else {
            try {
              record = await runSample(current, suite, modelPath, v, it, options);
            } catch (error) {
              if (isAbort(error, signal)) { stop = 'cancelled'; break; }
              if (isFatal(error)) { stop ??= { error }; break; }
              record = errorRecord(modelPath, v.name, it, (error as Error).message || String(error), t0);
            }
            if (signal?.aborted) { stop = 'cancelled'; break; }
          }
          records[at] = record;
          writing = writing.then(() => write(todo.length, false));
          await writing;
        }
      };
      await Promise.all(Array.from({ length: Math.min(width, todo.length) }, worker));
      // What finished after a stop is kept too, still in work-list order.
      writing = writing.then(() => write(todo.length, true));
      await writing;
      if (stop === 'cancelled') { status = 'cancelled'; break outer; }
      if (stop) throw stop.error;
      if (!loadError && scoring.length) {
        // Perplexity of the items' documents under each intervention of this load (llama-perplexity's definition).
        const text = items.map((it) => it.document).join('\n\n');
        for (const name of scoring) {
          if (signal?.aborted) { status = 'cancelled'; break outer; }
          const iv = suite.interventions!.find((x) => x.name === name);
          try {
            const r = await engine.perplexity(
              { text, context: Math.min(engine.model?.contextSize ?? PERPLEXITY_CONTEXT, PERPLEXITY_CONTEXT), chunks: PERPLEXITY_CHUNKS, intervention: interventionOf(iv) },
              { signal },
            );
            info.perplexity![modelPath] = { ...info.perplexity![modelPath], [name]: { perplexity: r.perplexity, stderr: r.stderr, context: r.context, chunks: r.chunks } };
            emit({ kind: 'model', model: modelPath, message: `perplexity ${formatPerplexity(r.perplexity)} (${name})` });
          } catch (error) {
            if (isAbort(error, signal)) { status = 'cancelled'; break outer; }
            const warning = `${formatModelName(modelPath)}: no perplexity for ${name}: ${(error as Error).message}`;
            info.warnings = [...(info.warnings ?? []).filter((w) => w !== warning), warning];
          }
        }
      }
      if (!loadError) {
        try { await engine.unload(); } catch { /* the next load replaces it anyway */ }
      }
    }
  } catch (error) {
    if (isAbort(error, signal)) status = 'cancelled';
    else {
      status = 'failed';
      runError = (error as Error).message;
      runFailure = error;
    }
  } finally {
    if (ownsEngine && engine) {
      try { await engine.dispose(); } catch { /* ignore */ }
    }
  }

  const all = latestSamples(readSamples(samplesFile).samples);
  const wallMs = Date.now() - started;
  if (generated > 0)
    info.throughput = {
      concurrency,
      samples: generated,
      wallMs,
      samplesPerMinute: (generated * 60000) / wallMs,
      generatedTokensPerSecond: (generatedTokens * 1000) / wallMs,
    };
  else delete info.throughput;
  info.status = status;
  info.finishedAt = new Date().toISOString();
  info.samples = { total, done, errors, resumed };
  if (runError) info.error = runError;
  const summary = computeSummary(info, all);
  await writeJson(path.join(outDir, SUMMARY_FILE), summary);
  await fs.writeFile(path.join(outDir, REPORT_FILE), renderReport(info, summary, all));
  await writeJson(runFile, info);
  emit({ kind: 'done', message: status });
  // The run's own error where there is one (an EngineError keeps its code for the caller).
  if (status === 'failed') throw runFailure instanceof Error ? runFailure : new Error(runError ?? 'the run failed');
  return { dir: outDir, id: path.basename(outDir), info, samples: all, summary };
}

/** Errors that end the whole run rather than one sample: the server is gone or refuses the key. */
function isFatal(error: unknown): boolean {
  return isEngineError(error, 'remote-unavailable') || isEngineError(error, 'remote-auth');
}

async function writeItemsSnapshot(file: string, items: EvalItem[]): Promise<void> {
  const existing = new Map<string, string>();
  for (const { value, line } of readJsonLines(file).records) {
    if (value !== null) existing.set((value as { id: string }).id, line);
  }
  for (const it of items) {
    existing.set(it.id, JSON.stringify({ id: it.id, title: it.title, document: it.document, references: it.references, source: it.source }));
  }
  await fs.writeFile(file, [...existing.values()].map((l) => l + '\n').join(''));
}

function errorRecord(model: string, variant: string, item: EvalItem, error: string, t0: number): SampleRecord {
  return {
    key: sampleKey(model, variant, item.id),
    itemId: item.id,
    ...(item.title ? { title: item.title } : {}),
    variant,
    model,
    modelName: formatModelName(model),
    output: '',
    references: item.references.length,
    failures: [],
    error,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

/** Generates and scores one sample with a loaded model. */
export async function runSample(
  engine: Engine,
  suite: EvalSuite,
  modelPath: string,
  variant: { name: string; template: string; system?: string; intervention?: SuiteIntervention },
  item: EvalItem,
  options: Pick<RunOptions, 'signal' | 'captureRouting'> = {},
): Promise<SampleRecord> {
  const t0 = Date.now();
  const { signal } = options;
  const sampling = samplingOf(suite);
  const intervention = interventionOf(variant.intervention);
  const contextSize = engine.model?.contextSize ?? suite.contextSize ?? 4096;
  const shape: PromptShape = { mode: suite.mode, template: variant.template, title: item.title, system: variant.system };
  const summarize = async (input: GenerateInput, maxTokens: number, s?: AbortSignal) => {
    const r = await engine.generate({ input, sampling: { ...sampling, maxTokens }, captureRouting: false, intervention }, { signal: s });
    if (r.stopReason === 'aborted') throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    return r.text;
  };
  const prepared = await prepareInput(
    engine,
    shape,
    item.document,
    { contextSize, maxTokens: suite.generation.maxTokens, config: suite.longInput, signal },
    summarize,
  );
  // Routing of the generated tokens, counted as the frames arrive (frames without routing are ignored).
  const routing = new RoutingAggregator({ experts: engine.model?.routing?.experts ?? 0 });
  const capture = options.captureRouting ?? true;
  const result = await engine.generate(
    { input: prepared.input, sampling, captureRouting: capture, intervention },
    {
      signal,
      onFrame: (frame) => {
        if (frame.phase === 'generated') routing.add(frame);
      },
    },
  );
  if (result.stopReason === 'aborted') throw Object.assign(new Error('aborted'), { name: 'AbortError' });
  const scored = scoreSummary(result.text, item.references, suite.metrics, {
    document: item.document,
    summaryTokens: result.generatedTokens,
  });
  return {
    key: sampleKey(modelPath, variant.name, item.id),
    itemId: item.id,
    ...(item.title ? { title: item.title } : {}),
    variant: variant.name,
    model: modelPath,
    modelName: engine.model?.name || formatModelName(modelPath),
    output: result.text,
    references: item.references.length,
    metrics: scored.metrics,
    failures: scored.failures,
    speed: {
      timeToFirstTokenMs: result.timeToFirstTokenMs,
      promptTokensPerSecond: result.promptTokensPerSecond,
      generatedTokensPerSecond: result.generatedTokensPerSecond,
      promptTokens: result.promptTokens,
      generatedTokens: result.generatedTokens,
      stopReason: result.stopReason,
      wallMs: Date.now() - t0,
    },
    ...(routing.tokens > 0 ? { routing: routingSummaryStats(routing.summary()) } : {}),
    strategy: prepared.info,
    ...(prepared.partials?.length ? { intermediate: prepared.partials } : {}),
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading runs back

/** Loads a run folder (run.json, samples.jsonl, summary.json or computed). */
export function loadRun(dir: string): LoadedRun {
  const abs = path.resolve(dir);
  const runFile = path.join(abs, RUN_FILE);
  if (!existsSync(runFile)) throw new Error(`${dir} is not an evaluation run (no ${RUN_FILE})`);
  let info: RunInfo;
  try {
    info = JSON.parse(readFileSync(runFile, 'utf8')) as RunInfo;
  } catch (error) {
    throw new Error(`${runFile}: invalid JSON (${(error as Error).message})`);
  }
  const samples = latestSamples(readSamples(path.join(abs, SAMPLES_FILE)).samples);
  // Recompute: summary.json may be missing (a killed run) or older than the samples.
  const summary = computeSummary(info, samples);
  return { dir: abs, id: path.basename(abs), info, samples, summary };
}

/** Runs in `dir` (each subfolder with a run.json, and `dir` itself if it is one), newest first. */
export async function listRuns(dir: string): Promise<RunListEntry[]> {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) return [];
  const candidates = [abs];
  for (const entry of await fs.readdir(abs, { withFileTypes: true })) {
    if (entry.isDirectory()) candidates.push(path.join(abs, entry.name));
  }
  const runs: RunListEntry[] = [];
  for (const d of candidates) {
    const runFile = path.join(d, RUN_FILE);
    if (!existsSync(runFile)) continue;
    try {
      const info = JSON.parse(readFileSync(runFile, 'utf8')) as RunInfo;
      runs.push({
        dir: d,
        id: path.basename(d),
        suite: info.suite.name,
        models: info.models,
        variants: info.variants,
        status: info.status,
        startedAt: info.startedAt,
        ...(info.finishedAt ? { finishedAt: info.finishedAt } : {}),
        // run.json is written at the start and the end: a running run's count is its samples file's.
        samples: info.status === 'running' ? latestSamples(readSamples(path.join(d, SAMPLES_FILE)).samples).length : info.samples.done,
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
export function loadRunItem(dir: string, itemId: string): (Omit<EvalItem, 'source'> & { source?: EvalItem['source'] }) | undefined {
  const file = path.join(path.resolve(dir), ITEMS_FILE);
  return readJsonLines(file).records.find((r) => (r.value as EvalItem | null)?.id === itemId)?.value as EvalItem | undefined;
}
