// Runs a suite: every (model × variant × item) sample, one JSON line per finished sample in OUT/samples.jsonl,
// then OUT/summary.json, OUT/report.md and OUT/run.json. Resumable (finished samples are skipped), cancellable
// (AbortSignal; finished samples are kept). Works with any `Engine`. With `concurrency` N > 1 and an engine that
// reports `concurrentRequests` (a server), up to N samples are generated at once; samples.jsonl stays in the order
// of the work list (a finished sample waits for the ones before it, so a killed run loses at most N-1 finished
// samples, which a resume redoes). A server that cannot be reached stops the run with its error.
// In three steps: planRun (resume checks, run.json), runLoad per model load (its samples through orderedPool, then
// the documents' perplexity), finishRun (summary.json, report.md, the final run.json).

import { EtaEstimator } from './progress';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isAbort, isEngineError } from '../engine/errors';
import { modelIdentity, withExpertsPerToken } from '../engine/backends';
import { formatIntervention, interventionFromSpecs } from '../engine/intervention';
import { formatModelName, formatPerplexity } from '../format';
import type { Engine, GenerateInput, Intervention, LoadOptions, LocalLoadOptions, ModelIdentity, SamplingOptions } from '../engine/types';
import { prepareInput, type PromptShape } from './long-input';
import { scoreSummary } from './metrics';
import { RoutingAggregator } from '../routing/aggregate';
import { routingSummaryStats } from '../routing/summary-stats';
import { computeSummary, renderReport } from './aggregate';
import { orderedPool } from './pool';
import {
  ITEMS_FILE,
  REPORT_FILE,
  RUN_FILE,
  SAMPLES_FILE,
  SUMMARY_FILE,
  latestSamples,
  readRunInfo,
  readSamples,
  writeItemsSnapshot,
  writeJson,
} from './run-files';
import type {
  EvalItem,
  EvalProgress,
  EvalSuite,
  LoadedRun,
  PromptVariant,
  RunInfo,
  RunStatus,
  SampleRecord,
  SuiteIntervention,
} from './types';

export { computeSummary, renderReport, compareRuns } from './aggregate';
// Reading runs back lives in run-files.ts; these are re-exported for the callers that knew them here.
export { listRuns, loadRun, loadRunItem, newestFirst, readSamples } from './run-files';

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

const SEP = '\u241f';
export function sampleKey(model: string, variant: string, itemId: string): string {
  return `${model}${SEP}${variant}${SEP}${itemId}`;
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

/** The load options of one of the run's models. */
function loadOptionsOf(options: RunOptions, model: string): LoadOptions {
  return options.modelOptions?.(model) ?? { ...options.loadOptions, modelPath: model };
}

/** What a run will do, settled before anything is generated (run.json and items.jsonl are written by then). */
interface RunPlan {
  outDir: string;
  samplesFile: string;
  items: EvalItem[];
  /** Keys of the samples earlier runs into the folder finished (not retried). */
  finished: Set<string>;
  info: RunInfo;
  /** One load per model and top-k (an intervention with expertsPerToken reloads), the baseline's first. */
  loads: { modelPath: string; k: number | undefined; variants: RunVariant[] }[];
  /** The samples still to generate, in work-list order: the estimate of the time left starts from them. */
  pending: EvalItem[];
}

/** Checks the options against an earlier run in the folder (resume), and writes run.json and items.jsonl. */
async function planRun(options: RunOptions): Promise<RunPlan> {
  const { suite } = options;
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
  const samplesFile = path.join(outDir, SAMPLES_FILE);
  const fingerprint = fingerprintOf(suite);

  // Resume: previous settings must match; keep finished samples, drop a truncated last line.
  const previous = await readRunInfo(outDir);
  if (previous) {
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
  const read = await readSamples(samplesFile);
  if (!read.clean) {
    await fs.writeFile(samplesFile, read.samples.map((s) => JSON.stringify(s) + '\n').join(''));
  }
  const finished = new Set(read.samples.filter((s) => !s.error).map((s) => s.key));
  const todo = (m: string, v: RunVariant) => items.filter((it) => !finished.has(sampleKey(m, v.name, it.id)));

  const templates: Record<string, string> = { ...(previous?.templates ?? {}) };
  for (const v of variants) templates[v.name] = v.template + (v.system ?? '');
  const total = options.models.length * variants.length * items.length;
  const pending = options.models.flatMap((m) => variants.flatMap((v) => todo(m, v)));
  const resumed = total - pending.length;

  const info: RunInfo = {
    version: 1,
    suite: { name: suite.name, path: suite.path, items: items.length, itemsFiles: suite.itemsFiles },
    models: [...new Set([...(previous?.models ?? []), ...options.models])],
    // Each model as a value, for every reader (the keys are never parsed back).
    identities: { ...previous?.identities, ...Object.fromEntries(options.models.map((m) => [m, modelIdentity(loadOptionsOf(options, m))])) },
    variants: [...new Set([...(previous?.variants ?? []), ...variants.map((v) => v.name)])],
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
  await writeJson(path.join(outDir, RUN_FILE), info);
  await writeItemsSnapshot(path.join(outDir, ITEMS_FILE), items);

  const loads = options.models.flatMap((modelPath) =>
    [...new Set(variants.map((v) => v.intervention?.expertsPerToken))].map((k) => ({ modelPath, k, variants: variants.filter((v) => v.intervention?.expertsPerToken === k) })),
  );
  return { outDir, samplesFile, items, finished, info, loads, pending };
}

/** A sample's share of the work, for the estimate of the time left: its document's length. */
const workOf = (it: { document: string }) => it.document.length;

/** What the run did so far, and its progress events. */
class RunProgress {
  readonly started = Date.now();
  done: number;
  errors = 0;
  /** Samples generated in this invocation, their tokens, and the most generated at once. */
  generated = 0;
  generatedTokens = 0;
  concurrency = 1;
  private readonly eta: EtaEstimator;

  constructor(
    private readonly plan: RunPlan,
    private readonly onProgress: RunOptions['onProgress'],
  ) {
    this.done = plan.info.samples.resumed;
    this.eta = new EtaEstimator(plan.pending.reduce((sum, it) => sum + workOf(it), 0), plan.pending.length);
  }

  emit(p: Omit<EvalProgress, 'done' | 'total' | 'resumed' | 'elapsedMs' | 'etaMs'>): void {
    const etaMs = this.eta.estimate();
    const { total, resumed } = this.plan.info.samples;
    this.onProgress?.({ ...p, done: this.done, total, resumed, elapsedMs: Date.now() - this.started, ...(etaMs !== undefined ? { etaMs } : {}) });
  }

  /** The identity of one of the run's models (planRun stored every one). */
  identityOf(model: string): ModelIdentity {
    return this.plan.info.identities![model];
  }

  /** A sample written, of `size` work, generated `width` at once. */
  written(record: SampleRecord, size: number, width: number): void {
    this.done++;
    if (record.error) this.errors++;
    else if (record.speed) {
      this.generated++;
      this.generatedTokens += record.speed.generatedTokens;
    }
    // With N at once, each sample's wall time overlaps the others': its share of the clock is 1/N of it.
    this.eta.finished(size, record.error ? undefined : (record.speed?.wallMs ?? 0) / width);
    this.emit({ kind: 'sample', model: record.model, identity: this.identityOf(record.model), variant: record.variant, itemId: record.itemId, sample: record });
  }
}

type Stop = 'cancelled' | { error: unknown } | undefined;

/** Runs (or resumes) a suite. Returns the loaded run as written. */
export async function runEval(options: RunOptions): Promise<LoadedRun> {
  const plan = await planRun(options);
  const progress = new RunProgress(plan, options.onProgress);
  const { total, resumed } = plan.info.samples;
  progress.emit({ kind: 'start', message: resumed > 0 ? `resuming: ${resumed} of ${total} samples already done` : undefined });
  let status: RunStatus = 'completed';
  let failure: unknown;
  let engine: Engine | undefined;
  try {
    engine = typeof options.engine === 'function' ? await options.engine() : options.engine;
    for (const load of plan.loads) {
      const stop = await runLoad(engine, load, plan, options, progress);
      if (stop === 'cancelled') {
        status = 'cancelled';
        break;
      }
      if (stop) throw stop.error;
    }
  } catch (error) {
    if (isAbort(error, options.signal)) status = 'cancelled';
    else {
      status = 'failed';
      failure = error;
    }
  } finally {
    if (typeof options.engine === 'function' && engine) {
      try { await engine.dispose(); } catch { /* ignore */ }
    }
  }
  return finishRun(plan, progress, status, failure);
}

/** One load of a model: its samples still to do, then the documents' perplexity under its interventions. */
async function runLoad(engine: Engine, load: RunPlan['loads'][number], plan: RunPlan, options: RunOptions, progress: RunProgress): Promise<Stop> {
  const { suite, signal } = options;
  const { modelPath, k, variants } = load;
  const { info } = plan;
  const todo = variants.flatMap((v) => plan.items.filter((it) => !plan.finished.has(sampleKey(modelPath, v.name, it.id))).map((it) => ({ v, it })));
  const scoring = suite.interventions?.length
    ? [...new Set(variants.map((v) => v.intervention?.name ?? 'baseline'))].filter((name) => !info.perplexity?.[modelPath]?.[name])
    : [];
  if (todo.length === 0 && scoring.length === 0) return undefined;
  if (signal?.aborted) return 'cancelled';
  const identity = progress.identityOf(modelPath);
  const name = formatModelName(identity);
  progress.emit({ kind: 'model', model: modelPath, identity, message: `loading ${name}${k ? ` with ${k} experts per token` : ''}` });
  let loadError: string | undefined;
  const base = loadOptionsOf(options, modelPath);
  try {
    await engine.load({ ...withExpertsPerToken(base, k), ...(suite.contextSize !== undefined ? { contextSize: suite.contextSize } : {}) }, signal);
  } catch (error) {
    if (isAbort(error, signal)) return 'cancelled';
    if (isFatal(error)) throw error;
    loadError = `could not load the model: ${(error as Error).message}`;
  }
  const loaded = loadError ? undefined : engine.model;
  if (loaded?.trainContextLength && loaded.contextSize > loaded.trainContextLength) {
    const warning = `${loaded.name || name} runs at a context of ${loaded.contextSize} tokens, more than the ${loaded.trainContextLength} it was trained for: expect degraded output`;
    info.warnings = [...(info.warnings ?? []).filter((w) => w !== warning), warning];
    progress.emit({ kind: 'model', model: modelPath, identity, message: `warning: ${warning}` });
  }
  const width = loaded?.capabilities.concurrentRequests ? Math.max(1, Math.floor(options.concurrency ?? 1)) : 1;
  progress.concurrency = Math.max(progress.concurrency, width);

  let stop: Stop;
  await orderedPool(
    todo.length,
    width,
    async (at) => {
      if (signal?.aborted) {
        stop = 'cancelled';
        return undefined;
      }
      const { v, it } = todo[at];
      const t0 = Date.now();
      if (loadError) return errorRecord(modelPath, name, v.name, it, loadError, t0);
      let record: SampleRecord;
      try {
        record = await runSample(engine, suite, { key: modelPath, name }, v, it, options);
      } catch (error) {
        if (isAbort(error, signal)) stop = 'cancelled';
        else if (isFatal(error)) stop ??= { error };
        else return errorRecord(modelPath, name, v.name, it, (error as Error).message || String(error), t0);
        return undefined;
      }
      if (signal?.aborted) {
        stop = 'cancelled';
        return undefined;
      }
      return record;
    },
    // In work-list order; what finished after a stop is kept too.
    async (record, at) => {
      await fs.appendFile(plan.samplesFile, JSON.stringify(record) + '\n');
      progress.written(record, workOf(todo[at].it), width);
    },
  );
  if (stop) return stop;
  if (!loadError && scoring.length && (await scorePerplexity(engine, modelPath, scoring, plan, options, progress)) === 'cancelled') return 'cancelled';
  if (!loadError) {
    try { await engine.unload(); } catch { /* the next load replaces it anyway */ }
  }
  return undefined;
}

/** Perplexity of the items' documents under each intervention of a load (llama-perplexity's definition). */
async function scorePerplexity(engine: Engine, modelPath: string, names: string[], plan: RunPlan, options: RunOptions, progress: RunProgress): Promise<Stop> {
  const { suite, signal } = options;
  const { info } = plan;
  const text = plan.items.map((it) => it.document).join('\n\n');
  for (const name of names) {
    if (signal?.aborted) return 'cancelled';
    const iv = suite.interventions!.find((x) => x.name === name);
    try {
      const r = await engine.perplexity(
        { text, context: Math.min(engine.model?.contextSize ?? PERPLEXITY_CONTEXT, PERPLEXITY_CONTEXT), chunks: PERPLEXITY_CHUNKS, intervention: interventionOf(iv) },
        { signal },
      );
      info.perplexity![modelPath] = { ...info.perplexity![modelPath], [name]: { perplexity: r.perplexity, stderr: r.stderr, context: r.context, chunks: r.chunks } };
      progress.emit({ kind: 'model', model: modelPath, identity: progress.identityOf(modelPath), message: `perplexity ${formatPerplexity(r.perplexity)} (${name})` });
    } catch (error) {
      if (isAbort(error, signal)) return 'cancelled';
      const warning = `${formatModelName(progress.identityOf(modelPath))}: no perplexity for ${name}: ${(error as Error).message}`;
      info.warnings = [...(info.warnings ?? []).filter((w) => w !== warning), warning];
    }
  }
  return undefined;
}

/** Writes summary.json, report.md and the final run.json; throws the run's own error where it failed. */
async function finishRun(plan: RunPlan, progress: RunProgress, status: RunStatus, failure: unknown): Promise<LoadedRun> {
  const { info, outDir } = plan;
  const all = latestSamples((await readSamples(plan.samplesFile)).samples);
  const wallMs = Date.now() - progress.started;
  const { generated, generatedTokens } = progress;
  if (generated > 0)
    info.throughput = {
      concurrency: progress.concurrency,
      samples: generated,
      wallMs,
      samplesPerMinute: (generated * 60000) / wallMs,
      generatedTokensPerSecond: (generatedTokens * 1000) / wallMs,
    };
  else delete info.throughput;
  const runError = status === 'failed' ? (failure as Error | undefined)?.message : undefined;
  info.status = status;
  info.finishedAt = new Date().toISOString();
  info.samples = { ...info.samples, done: progress.done, errors: progress.errors };
  if (runError) info.error = runError;
  const summary = computeSummary(info, all);
  await writeJson(path.join(outDir, SUMMARY_FILE), summary);
  await fs.writeFile(path.join(outDir, REPORT_FILE), renderReport(info, summary, all));
  await writeJson(path.join(outDir, RUN_FILE), info);
  progress.emit({ kind: 'done', message: status });
  // The run's own error where there is one (an EngineError keeps its code for the caller).
  if (status === 'failed') throw failure instanceof Error ? failure : new Error(runError ?? 'the run failed');
  return { dir: outDir, id: path.basename(outDir), info, samples: all, summary };
}

/** Errors that end the whole run rather than one sample: the server is gone or refuses the key. */
function isFatal(error: unknown): boolean {
  return isEngineError(error, 'remote-unavailable') || isEngineError(error, 'remote-auth');
}

function errorRecord(model: string, modelName: string, variant: string, item: EvalItem, error: string, t0: number): SampleRecord {
  return {
    key: sampleKey(model, variant, item.id),
    itemId: item.id,
    ...(item.title ? { title: item.title } : {}),
    variant,
    model,
    modelName,
    output: '',
    references: item.references.length,
    failures: [],
    error,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
  };
}

/** Generates and scores one sample with a loaded model (`model`: its run key and short name). */
export async function runSample(
  engine: Engine,
  suite: EvalSuite,
  model: { key: string; name: string },
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
    key: sampleKey(model.key, variant.name, item.id),
    itemId: item.id,
    ...(item.title ? { title: item.title } : {}),
    variant: variant.name,
    model: model.key,
    modelName: engine.model?.name || model.name,
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
