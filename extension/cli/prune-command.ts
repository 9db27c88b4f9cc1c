// `moe-lens prune MODEL`: plan (by --remove SPEC, or --drop-per-layer / --keep-per-layer N by a criterion measured on
// --file), --dry-run (the plan, the new size, the placement before and after), or write the pruned GGUF and measure
// it beside the original: perplexity on the text, decode speed, sizes; --json prints all of it as one line.
// Registered by main.ts; errors are EngineErrors with one line.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { EngineError } from '../engine/errors';
import { resolveModelArg } from '../engine/demo-model';
import { chooseRemoval, describePlan, fitVerdict, placementOf, planInputOf, PRUNE_CRITERIA, requireText, scoreExperts, type PruneCriterion } from '../engine/prune-plan';
import { comparePruned, type ModelMeasurement } from '../engine/prune-measure';
import { formatPlan, moeShape, planFromSpec, prunedSize, readGgufLayout, writePruned, type PrunePlan } from '../engine/prune';
import type { CpuMoe, LocalLoadOptions, PerplexityResult } from '../engine/types';
import { formatBytes, formatPerplexity, formatTokensPerSecond } from '../format';
import type { ModelCommandDeps } from './intervention-commands';

interface PruneFlags {
  out?: string;
  remove?: string;
  dropPerLayer?: number;
  keepPerLayer?: number;
  by: PruneCriterion;
  file?: string;
  chunks?: number;
  context?: number;
  seed: number;
  tokens: number;
  dryRun?: boolean;
  json?: boolean;
  cpuMoe: CpuMoe;
}

/** A measurement as --json prints it (the perplexity as a number). */
const measuredJson = (m: ModelMeasurement) => ({ perplexity: m.perplexity?.perplexity ?? null, decodeTokensPerSecond: m.decodeTokensPerSecond, bytes: m.bytes });

export function registerPruneCommand(program: Command, deps: ModelCommandDeps): void {
  const criterion = (value: string): PruneCriterion => {
    if (!(PRUNE_CRITERIA as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${PRUNE_CRITERIA.join(', ')}`);
    return value as PruneCriterion;
  };
  deps
    .addModelOptions(program.command('prune').argument('<model>', 'GGUF MoE model file, or demo for the built-in model'))
    .description('write a copy of the model without some experts (the same number in every MoE layer), and measure it beside the original')
    .option('-o, --out <file>', 'the pruned GGUF to write (not the input)')
    .option('--remove <SPEC>', 'experts to remove: LAYER:EXPERT[,EXPERT…] joined with ";", * = every MoE layer')
    .option('--drop-per-layer <n>', 'remove the N least useful experts of every MoE layer (by --by)', deps.parseInteger)
    .option('--keep-per-layer <n>', 'keep the N most useful experts of every MoE layer (by --by)', deps.parseInteger)
    .option('--by <criterion>', `what "useful" means: ${PRUNE_CRITERIA.join(', ')} (random: the seeded baseline)`, criterion, 'reap')
    .option('-f, --file <text>', 'the text the experts are measured on, and the perplexities after writing')
    .option('--chunks <n>', 'score at most N chunks of the text', deps.parseInteger)
    .option('--seed <n>', 'seed of --by random', deps.parseInteger, 0)
    .option('--tokens <n>', 'tokens generated to measure decode speed', deps.parseInteger, 64)
    .option('--dry-run', 'print the plan, the new size and the placement before and after; write nothing')
    .option('--json', 'everything as one JSON line')
    .action(async (model: string, flags: PruneFlags) => {
      const input = resolveModelArg(model);
      const ways = [flags.remove, flags.dropPerLayer, flags.keepPerLayer].filter((v) => v !== undefined).length;
      if (ways !== 1) throw new EngineError('bad-prune', 'say what to remove with exactly one of --remove SPEC, --drop-per-layer N, --keep-per-layer N');
      if (!flags.dryRun && !flags.out) throw new EngineError('bad-prune', 'give the file to write with --out FILE (or --dry-run to see the plan)');
      const text = flags.file === undefined ? undefined : await readFile(flags.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new EngineError('file-not-found', `cannot read ${flags.file}: ${e.code ?? e.message}`);
      });
      const layout = await readGgufLayout(input);
      const shape = moeShape(layout);
      // A bad SPEC, or a criterion without its text, fails before the model loads.
      let plan: PrunePlan | undefined = flags.remove !== undefined ? planFromSpec(shape, flags.remove) : undefined;
      if (!plan) requireText(flags.by, text);
      const log = (message: string) => flags.json || deps.stderr(`${message}\n`);
      const engine = deps.createEngine();
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      try {
        const options = deps.loadOptions(input, flags as never) as LocalLoadOptions;
        const info = await engine.load(options);
        let baseline: PerplexityResult | undefined;
        if (!plan) {
          const drop = flags.dropPerLayer ?? shape.experts - flags.keepPerLayer!;
          const scored = await scoreExperts(engine, flags.by, { text, context: flags.context, chunks: flags.chunks, seed: flags.seed }, { signal: controller.signal, onProgress: log });
          baseline = scored.baseline;
          plan = chooseRemoval(shape, scored.scores, drop);
        }
        const placementInput = planInputOf(info.placement!, flags.cpuMoe);
        const size = prunedSize(layout, plan);
        const before = placementOf(layout, shape, placementInput);
        const after = placementOf(layout, shape, placementInput, plan);
        const planJson = {
          model: shape.name,
          experts: shape.experts,
          keep: plan.keepCount,
          remove: formatPlan(plan),
          by: flags.remove !== undefined ? 'spec' : flags.by,
          sizeBefore: layout.fileSize,
          sizeAfter: size,
          fitBefore: fitVerdict(before),
          fitAfter: fitVerdict(after),
        };
        if (flags.dryRun) {
          if (flags.json) deps.stdout(JSON.stringify({ dryRun: true, ...planJson }) + '\n');
          else deps.stdout(formatPlanText(planJson, plan));
          return;
        }
        let lastPercent = -1;
        const written = await writePruned(input, flags.out!, plan, {
          signal: controller.signal,
          onProgress: (p) => {
            const percent = Math.floor((100 * p.bytesRead) / p.bytesTotal);
            if (percent >= lastPercent + 10) log(`writing ${flags.out}: ${(lastPercent = percent)}%`);
          },
        });
        const measured = await comparePruned(engine, options, written.output, { text, context: flags.context, chunks: flags.chunks, tokens: flags.tokens }, { signal: controller.signal, known: baseline });
        const [original, pruned] = [measuredJson(measured.original), measuredJson(measured.pruned)];
        const result = { ...planJson, out: written.output, writeMs: Math.round(written.ms), original, pruned };
        if (flags.json) deps.stdout(JSON.stringify(result) + '\n');
        else
          deps.stdout(
            formatPlanText(planJson, plan) +
              `wrote ${written.output} in ${(written.ms / 1000).toFixed(1)} s\n` +
              `                 original     pruned\n` +
              (text === undefined ? '' : `perplexity   ${pad(formatPerplexity(original.perplexity!))} ${pad(formatPerplexity(pruned.perplexity!))}\n`) +
              `decode       ${pad(formatTokensPerSecond(original.decodeTokensPerSecond))} ${pad(formatTokensPerSecond(pruned.decodeTokensPerSecond))}\n` +
              `size         ${pad(formatBytes(original.bytes))} ${pad(formatBytes(pruned.bytes))}\n`,
          );
      } finally {
        process.off('SIGINT', onSigint);
        await engine.dispose();
      }
    });
}

const pad = (s: string) => s.padStart(10);

function formatPlanText(p: { model: string; experts: number; keep: number; by: string; sizeBefore: number; sizeAfter: number; fitBefore: string; fitAfter: string }, plan: PrunePlan): string {
  return `${p.model}: keep ${p.keep} of ${p.experts} experts in each of ${plan.layers.length} MoE layers (by ${p.by})\n` + describePlan(plan, p).map((line) => `  ${line}\n`).join('');
}
