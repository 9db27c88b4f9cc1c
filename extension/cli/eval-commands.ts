// `moe-lens eval` and `moe-lens score`. The CLI entry (main.ts) calls registerEvalCommands(program, deps).
// Errors are thrown as Errors with a one-line message; the entry prints them and exits non-zero.

import type { Command } from 'commander';
import { resolveModelArg } from '../engine/demo-model';
import { formatLoadTarget } from '../engine/backends';
import { formatDuration, MISSING } from '../format';
import { METRICS, formatGroupMetric, formatSampleMetric, metricsIn } from '../evals/metrics/catalogue';
import * as path from 'node:path';
import type { Engine, RemoteLoadOptions } from '../engine/types';
import { loadSuite } from '../evals/suite';
import { runEval } from '../evals/runner';
import { scoreFile, type ScoreResult } from '../evals/score';
import type { EvalProgress, GroupSummary, LoadedRun } from '../evals/types';
import { addRpcOptions, rpcLoadOptions, type RpcFlags } from './rpc-options';
import { runFolderName } from '../evals/run-id';
import { runModelName } from '../evals/model-name';

export interface EvalCommandDeps {
  createEngine(): Engine | Promise<Engine>;
  /** Where tables/JSON go (default process.stdout) and progress (default process.stderr). */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Load options of `--endpoint` and its companions (main.ts's, shared with `generate`). */
  remoteOptions?: (options: EndpointOptions) => RemoteLoadOptions;
}

export interface EndpointOptions {
  endpoint?: string;
  model?: string;
  apiKeyEnv?: string;
  stream?: boolean;
  routingShape?: { moeLayers: number; expertsPerToken: number };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A commander parser for a positive integer option; `flag` names it in the error. */
function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, not "${value}"`);
    return n;
  };
}



export function formatProgress(p: EvalProgress): string | undefined {
  switch (p.kind) {
    case 'start':
      return `${p.total} samples${p.message ? ` (${p.message})` : ''}`;
    case 'model':
      return p.message;
    case 'sample': {
      const s = p.sample;
      const what = s?.error
        ? `error: ${s.error}`
        : [
            ...(s ? metricsIn('progress').filter((id) => METRICS[id].ofSample?.(s) !== undefined).map((id) => `${METRICS[id].short} ${formatSampleMetric(id, s)}`) : []),
            s?.failures.length ? `flags: ${s.failures.map((f) => f.kind).join(', ')}` : undefined,
            s?.strategy && s.strategy.strategy !== 'none' ? s.strategy.strategy : undefined,
          ]
            .filter(Boolean)
            .join('; ');
      const eta = p.etaMs !== undefined && p.done < p.total ? `, ETA ${formatDuration(p.etaMs)}` : '';
      return `[${p.done}/${p.total}] ${runModelName(p.model ?? '', p.identity)} · ${p.variant} · ${p.itemId}${what ? ` — ${what}` : ''}${eta}`;
    }
    case 'done':
      return `${p.message} after ${formatDuration(p.elapsedMs)}`;
  }
}

/** A plain-text table with aligned columns. */
export function table(header: string[], rows: string[][], leftColumns: number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (leftColumns.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

/** The per model × variant table, with the columns of the metric catalogue. */
export function runTable(groups: GroupSummary[]): string {
  const columns = metricsIn('groups');
  return table(
    ['model', 'variant', 'n', ...columns.map((id) => METRICS[id].short), 'errors'],
    groups.map((g) => [g.modelName, g.variant, String(g.samples), ...columns.map((id) => formatGroupMetric(id, g)), String(g.errors)]),
    [0, 1],
  );
}

/** `score`'s table: the catalogue's score metrics per item, the failures, and the means. */
export function scoreTable(result: ScoreResult): string {
  const columns = metricsIn('score');
  const rows = result.items.map((x) => [
    x.id,
    ...columns.map((id) => formatSampleMetric(id, x)),
    x.failures.map((f) => `${f.kind}: ${f.evidence.slice(0, 60)}`).join('; ') || MISSING,
  ]);
  rows.push(['mean', ...columns.map((id) => formatGroupMetric(id, result.aggregate)), `${formatGroupMetric('failureRate', result.aggregate)} flagged`]);
  return table(['id', ...columns.map((id) => METRICS[id].short), 'failures'], rows, [0, columns.length + 1]);
}

export function registerEvalCommands(program: Command, deps: EvalCommandDeps): void {
  const out = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => void process.stderr.write(t));

  addRpcOptions(
    program
      .command('eval')
      .description('Run a long-summary evaluation suite on one or more models (resumable: rerun with the same --out)')
      .argument('<suite>', 'suite file (.yaml/.yml/.json), or a .jsonl items file with default settings'),
  )
    .option('--model <path>', 'GGUF model to evaluate, or demo for the built-in one (repeatable)', collect, [] as string[])
    .option('--variant <name>', 'prompt variant to run (repeatable; default: all)', collect, [] as string[])
    .option('--out <dir>', 'output folder (default: eval-runs/<suite>-<time>)')
    .option('--json', 'print the summary as JSON')
    .option('--max-items <n>', 'only the first N items', positiveInt('--max-items'))
    .option('--threads <n>', 'CPU threads for the engine (default: the physical cores)', positiveInt('--threads'))
    .option('--endpoint <url>', 'evaluate a model on an OpenAI-compatible server; --model then names it (default: its first)')
    .option('--api-key-env <VAR>', 'with --endpoint: read the API key from this environment variable')
    .option('--concurrency <n>', 'with --endpoint: samples generated at once (the server batches them)', positiveInt('--concurrency'), 1)
    .option('--no-stream', 'with --endpoint: do not stream (vLLM then reports routed experts)')
    .action(async (suitePath: string, opts: { model: string[]; variant: string[]; out?: string; json?: boolean; maxItems?: number; threads?: number; concurrency: number } & EndpointOptions & RpcFlags) => {
      let remote: RemoteLoadOptions | undefined;
      if (opts.endpoint) {
        if (opts.model.length > 1) throw new Error('with --endpoint give at most one --model NAME (the server\'s model id)');
        if (!deps.remoteOptions) throw new Error('--endpoint is not available here');
        remote = deps.remoteOptions({ ...opts, model: opts.model[0] });
      } else if (opts.model.length === 0) throw new Error('give at least one --model PATH, or --endpoint URL');
      if (opts.concurrency > 1 && !remote) throw new Error('--concurrency needs --endpoint: the local engine generates one answer at a time');
      const suite = await loadSuite(suitePath);
      if (suite.items.length === 0) throw new Error(`${suitePath} has no items`);
      const outDir = opts.out ?? path.join('eval-runs', runFolderName(suite.name));
      const controller = new AbortController();
      const onSigint = () => {
        err('cancelling… (finished samples are kept; rerun with the same --out to resume)\n');
        controller.abort();
      };
      process.once('SIGINT', onSigint);
      let run: LoadedRun;
      try {
        run = await runEval({
          suite,
          models: remote ? [formatLoadTarget(remote)] : opts.model.map((m) => path.resolve(resolveModelArg(m))),
          ...(remote ? { modelOptions: () => remote, concurrency: opts.concurrency } : {}),
          variants: opts.variant,
          outDir,
          engine: () => deps.createEngine(),
          ...(opts.maxItems !== undefined ? { maxItems: opts.maxItems } : {}),
          loadOptions: { ...(opts.threads !== undefined ? { threads: opts.threads } : {}), ...rpcLoadOptions(opts) },
          signal: controller.signal,
          onProgress: (p) => {
            const line = formatProgress(p);
            if (line) err(line + '\n');
          },
        });
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
      if (opts.json) {
        out(JSON.stringify({ out: run.dir, status: run.info.status, samples: run.info.samples, ...(run.info.warnings?.length ? { warnings: run.info.warnings } : {}), summary: run.summary }, null, 2) + '\n');
      } else {
        out(runTable(run.summary.groups));
        out(`\n${run.info.status}: ${run.info.samples.done}/${run.info.samples.total} samples in ${run.dir} (report.md, samples.jsonl)\n`);
        for (const w of run.info.warnings ?? []) out(`warning: ${w}\n`);
        const t = run.info.throughput;
        if (t) out(`throughput: ${t.samples} samples in ${formatDuration(t.wallMs)} at concurrency ${t.concurrency}: ${t.samplesPerMinute.toFixed(1)} samples/min, ${t.generatedTokensPerSecond.toFixed(1)} generated tok/s\n`);
      }
      if (run.info.status === 'cancelled') process.exitCode = 130;
    });

  program
    .command('score')
    .description('Score predictions made elsewhere: JSONL of {"id","prediction","references":[...],"document"?}')
    .argument('<predictions>', 'predictions .jsonl file')
    .option('--json', 'print per-item and aggregate results as JSON')
    .option('--stem', 'Porter-stem tokens for ROUGE (default)')
    .option('--no-stem', 'do not stem')
    .action((file: string, opts: { json?: boolean; stem?: boolean }) => {
      const result = scoreFile(file, { stem: opts.stem ?? true });
      if (opts.json) out(JSON.stringify(result, null, 2) + '\n');
      else out(scoreTable(result));
    });
}
