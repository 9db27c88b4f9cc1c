// `moe-lens perplexity` and `moe-lens importance`, and the intervention flags `generate` shares with them
// (--ablate, --force, --experts-per-token). Registered by main.ts; errors are EngineErrors with one line, which
// the entry prints before exiting 1.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EngineError } from '../engine/errors';
import { noiseReason, runImportance, type ImportanceResult } from '../engine/importance';
import { withExpertsPerToken } from '../engine/backends';
import { formatIntervention, interventionFromSpecs } from '../engine/intervention';
import type { Engine, Intervention, LoadOptions, PerplexityResult } from '../engine/types';
import { entropy } from '../routing/math';
import { formatDelta, formatDuration, formatPercent, formatPerplexity } from '../format';

export interface InterventionFlags {
  ablate?: string;
  force?: string;
  expertsPerToken?: number;
}

export function addInterventionOptions(command: Command, parseInteger: (value: string) => number, withMasks = true): Command {
  if (withMasks)
    command
      .option('--ablate <SPEC>', 'experts the router may not choose: LAYER:EXPERT[,EXPERT…] joined with ";", * = every MoE layer')
      .option('--force <SPEC>', 'the only experts a layer may use (at most top-k), same SPEC syntax');
  return command.option('--experts-per-token <k>', "experts per token (top-k) instead of the model's own", parseInteger);
}

/** The flags' intervention, parsed (a bad SPEC throws before the model is loaded). */
export function interventionOf(flags: InterventionFlags): Intervention | undefined {
  return interventionFromSpecs({ ablate: flags.ablate, force: flags.force });
}

export interface ModelCommandDeps {
  createEngine: () => Engine & { dispose(): Promise<void> };
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** main.ts's shared model options (--gpu-layers, --cpu-moe, --context, --threads) and their LoadOptions. */
  addModelOptions: (command: Command) => Command;
  loadOptions: (model: string, options: never) => LoadOptions;
  parseInteger: (value: string) => number;
}

interface PerplexityFlags extends InterventionFlags {
  file: string;
  context?: number;
  chunks?: number;
  json?: boolean;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new EngineError('file-not-found', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Per MoE layer, the normalised entropy of the expert load (1 = perfectly balanced). */
function loadBalance(result: PerplexityResult): number[] {
  const r = result.routing;
  return r ? r.counts.map((row) => (r.experts > 1 ? entropy(row) / Math.log(r.experts) : 1)) : [];
}

/** `moe-lens perplexity` and `moe-lens importance` (both take the intervention flags). */
export function registerPerplexityAndImportanceCommands(program: Command, deps: ModelCommandDeps): void {
  const perplexity = deps
    .addModelOptions(program.command('perplexity').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description("perplexity of a text as llama.cpp's llama-perplexity computes it, optionally with experts ablated or forced")
    .requiredOption('-f, --file <text>', 'the text file')
    .option('--chunks <n>', 'score at most N chunks', deps.parseInteger)
    .option('--json', 'a JSON summary as the last line');
  addInterventionOptions(perplexity, deps.parseInteger).action(async (model: string, flags: PerplexityFlags) => {
    const intervention = interventionOf(flags);
    const text = await readText(flags.file);
    const engine = deps.createEngine();
    try {
      const info = await engine.load(withExpertsPerToken(deps.loadOptions(model, flags as never), flags.expertsPerToken));
      const result = await engine.perplexity(
        { text, context: flags.context, chunks: flags.chunks, intervention, routing: info.routing ? 'counts' : 'none' },
        { onProgress: (p) => deps.stderr(`[${p.chunk}/${p.chunks}] perplexity ${formatPerplexity(p.perplexity)}\n`) },
      );
      const balance = loadBalance(result);
      if (flags.json) {
        deps.stdout(
          JSON.stringify({
            perplexity: result.perplexity,
            stderr: result.stderr,
            tokens: result.tokens,
            chunks: result.chunks,
            context: result.context,
            scored: result.scored,
            tokensPerSecond: result.tokensPerSecond,
            ms: result.ms,
            model: info.name,
            expertsPerToken: info.routing?.expertsPerToken ?? 0,
            intervention: formatIntervention(intervention) || null,
            ...(result.routing ? { routing: { layers: result.routing.layers, counts: result.routing.counts, loadBalance: balance } } : {}),
          }) + '\n',
        );
        return;
      }
      deps.stdout(
        `perplexity ${formatPerplexity(result.perplexity)} ± ${formatPerplexity(result.stderr)}: ${result.chunks} chunks of ${result.context} tokens, ` +
          `${result.scored} scored of ${result.tokens}, top-${info.routing?.expertsPerToken ?? 0}` +
          `${intervention ? `, ${formatIntervention(intervention)}` : ''} (${formatDuration(result.ms)}, ${result.tokensPerSecond.toFixed(0)} tok/s)\n`,
      );
      if (balance.length)
        deps.stdout(`expert load balance per layer (1 = even): ${balance.map((b, i) => `${result.routing!.layers[i]}:${b.toFixed(2)}`).join(' ')}\n`);
    } finally {
      await engine.dispose();
    }
  });

  const importance = deps
    .addModelOptions(program.command('importance').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description('for every (layer, expert): the change in perplexity when that expert alone is ablated, and its REAP score')
    .requiredOption('-f, --file <text>', 'the text file')
    .option('--layers <list>', 'MoE layers to score, e.g. 0,3,5 (default all)', (v: string) => v.split(',').map((x) => deps.parseInteger(x.trim())))
    .option('--chunks <n>', 'score at most N chunks', deps.parseInteger)
    .option('--json', 'the result as JSON');
  addInterventionOptions(importance, deps.parseInteger, false).action(
    async (model: string, flags: PerplexityFlags & { layers?: number[] }) => {
      const text = await readText(flags.file);
      const engine = deps.createEngine();
      try {
        await engine.load(withExpertsPerToken(deps.loadOptions(model, flags as never), flags.expertsPerToken));
        const result = await runImportance(
          engine,
          { text, layers: flags.layers, context: flags.context, chunks: flags.chunks },
          { onProgress: (p) => deps.stderr(`[${p.done}/${p.total}] layer ${p.layer} expert ${p.expert}\n`) },
        );
        deps.stdout(flags.json ? JSON.stringify(result) + '\n' : formatImportance(result));
      } finally {
        await engine.dispose();
      }
    },
  );
}

/**
 * The importance tables: Δ perplexity (a change within noise, its 95% interval containing 0, in parentheses), the
 * intervals' half-widths, REAP and shares; a hint to use more chunks when there are few or most changes are noise.
 */
export function formatImportance(r: ImportanceResult): string {
  const header = ['layer', ...Array.from({ length: r.experts }, (_, e) => `e${e}`)];
  const table = <T>(title: string, rows: T[][], cell: (v: T, i: number, e: number) => string) => {
    const body = rows.map((row, i) => [String(r.layers[i]), ...row.map((v, e) => cell(v, i, e))]);
    const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join('  ');
    return `${title}\n${line(header)}\n${body.map(line).join('\n')}\n`;
  };
  const n = r.noise;
  const hint = n.moreChunks
    ? `\nhint: ${noiseReason(n)}. More chunks narrow the intervals: --chunks ${n.suggestedChunks}` +
      (n.maxChunks < n.suggestedChunks ? ` (this text holds ${n.maxChunks} chunks of ${r.baseline.context} tokens: give a longer text or a smaller --context)` : '') +
      '\n'
    : '';
  return (
    `${r.model}: baseline perplexity ${formatPerplexity(r.baseline.perplexity)} ± ${formatPerplexity(r.baseline.stderr)} ` +
    `(${r.baseline.chunks} chunks of ${r.baseline.context} tokens); ${r.evaluations} chunk evaluations, ${r.reused} reused, ${formatDuration(r.ms)}\n\n` +
    table(
      `Δ perplexity with the expert ablated; (in parentheses) within noise: its ${formatPercent(n.level, 0)} interval over the ${n.chunks} chunks contains 0`,
      r.deltaPerplexity,
      (v, i, e) => (r.significant[i][e] ? formatDelta(v) : `(${formatDelta(v)})`),
    ) +
    '\n' +
    table(`± half-width of that interval (paired t over chunks; exact bounds in --json)`, r.deltaLow, (low, i, e) =>
      Number.isFinite(low) ? `±${((r.deltaHigh[i][e] - low) / 2).toFixed(3)}` : '—',
    ) +
    '\n' +
    table('REAP (mean gate weight × ||expert output|| over its tokens)', r.reap, (v) => v.toFixed(3)) +
    '\n' +
    table('share of routed slots', r.share, (v) => `${(v * 100).toFixed(1)}%`) +
    hint
  );
}
