// `moe-lens atlas`: what the experts specialise in over a corpus, against chance (extension/routing/atlas*.ts).
// Registered by main.ts; progress and skipped inputs on stderr; --json prints the summary as the last line.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EngineError } from '../engine/errors';
import { withExpertsPerToken } from '../engine/backends';
import { formatCount, formatDecimal, formatDuration, formatNoun, formatPercent, MISSING } from '../format';
import { compareAtlases } from '../routing/atlas';
import { compareAcrossPruning, formatShareChange, pairAtlases, type AtlasIdentity, type NamedAtlas, type PrunedComparison } from '../routing/atlas-pruned';
import { probeSetPath, readCorpus, type LabelBy } from '../routing/atlas-corpus';
import { atlasCsv, atlasMarkdown, atlasSummary } from '../routing/atlas-export';
import { DEFAULT_PERMUTATIONS, describeSkip, runAtlas, type AtlasResult } from '../routing/atlas-run';
import { addInterventionOptions, type ModelCommandDeps } from './intervention-commands';

interface AtlasFlags {
  corpus: string[];
  labelBy?: LabelBy;
  maxItemTokens?: number;
  permutations: number;
  seed: number;
  out?: string;
  compare?: string;
  json?: boolean;
  expertsPerToken?: number;
}

function parseLabelBy(value: string): LabelBy {
  if (value === 'ext' || value === 'folder' || value === 'field') return value;
  throw new InvalidArgumentError('expected ext, folder or field');
}

/** `probes` names the built-in probe set. */
const corpusPaths = (paths: string[]) => paths.map((p) => (p === 'probes' ? probeSetPath() : p));

export function registerAtlasCommand(program: Command, deps: ModelCommandDeps): void {
  const command = deps
    .addModelOptions(program.command('atlas').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description('routing atlas: what the experts specialise in over a corpus (per MoE layer, against a permutation chance level)')
    .requiredOption('--corpus <path...>', 'files, folders, JSONL ({"text","label"?,"id"?} a line), eval suites (.yaml), or probes (the built-in probe set)')
    .option('--label-by <ext|folder|field>', 'label items by file extension, folder, or the JSONL "label" field (default: field, else extension)', parseLabelBy)
    .option('--max-item-tokens <n>', 'count at most the first N tokens of each item (default: the context)', deps.parseInteger)
    .option('--permutations <n>', 'label permutations for the chance level and p-value', deps.parseInteger, DEFAULT_PERMUTATIONS)
    .option('--seed <n>', 'seed of the permutations and the example reservoirs', deps.parseInteger, 0)
    .option('--out <dir>', 'write atlas.json (with expert cards), atlas.csv and report.md there')
    .option('--compare <atlas.json>', "an earlier atlas.json: per-layer shift (Jensen–Shannon) and the experts that moved; of the model this one was pruned from: the shift in original expert ids")
    .option('--json', 'the summary as one JSON object on the last line');
  addInterventionOptions(command, deps.parseInteger, false).action(async (model: string, flags: AtlasFlags) => {
    if (flags.permutations < 0) throw new EngineError('internal', '--permutations must be 0 or more');
    const baseline = flags.compare ? await readAtlas(flags.compare) : undefined;
    const engine = deps.createEngine();
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      await engine.load(withExpertsPerToken(deps.loadOptions(model, flags as never), flags.expertsPerToken));
      const routing = engine.model?.routing;
      if (baseline && routing) {
        // Refused before the capture pass: the loaded model's routing says what its atlas will be.
        const pair = pairAtlases<AtlasIdentity>(baseline, { ...routing, model: engine.model!.name, layers: routing.moeLayers.map((layer) => ({ layer })) });
        if (pair.kind === 'unrelated') throw new EngineError('internal', `cannot compare with ${flags.compare}: ${pair.reason}`);
      }
      const checkpoint = flags.out ? await atlasCheckpoint(model, flags) : undefined;
      let lastProgress = 0;
      const result = await runAtlas(engine, readCorpus(corpusPaths(flags.corpus), { labelBy: flags.labelBy }), {
        maxItemTokens: flags.maxItemTokens,
        permutations: flags.permutations,
        seed: flags.seed,
        signal: controller.signal,
        checkpoint,
        onSkip: (s) => deps.stderr(`skipped ${describeSkip(s)}\n`),
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastProgress < 1000) return;
          lastProgress = now;
          deps.stderr(`[atlas] ${formatNoun(p.items, 'item')}, ${formatCount(p.tokens)} tokens${p.skipped ? `, ${p.skipped} skipped` : ''}\n`);
        },
      });
      if (result.resumedItems) deps.stderr(`[atlas] continued a checkpoint of ${formatNoun(result.resumedItems, 'item')}\n`);
      const pair = baseline && pairAtlases(baseline, result);
      if (pair?.kind === 'unrelated') throw new EngineError('internal', `cannot compare with ${flags.compare}: ${pair.reason}`);
      const comparison = pair?.kind === 'same' ? compareAtlases(baseline!, result) : undefined;
      const pruned = pair?.kind === 'pruned' ? compareAcrossPruning(pair.original, pair.pruned, pair.originalExpertIds) : undefined;
      if (flags.out) {
        await mkdir(flags.out, { recursive: true });
        await writeFile(path.join(flags.out, 'atlas.json'), JSON.stringify(result) + '\n');
        await writeFile(path.join(flags.out, 'atlas.csv'), atlasCsv(result));
        await writeFile(path.join(flags.out, 'report.md'), atlasMarkdown(result));
        deps.stderr(`[atlas] wrote atlas.json, atlas.csv and report.md to ${flags.out}\n`);
      }
      if (flags.json) deps.stdout(JSON.stringify({ ...atlasSummary(result), ...(comparison ? { compare: comparison } : {}), ...(pruned ? { comparePruned: pruned } : {}) }) + '\n');
      else deps.stdout(formatAtlas(result) + (comparison ? formatComparison(comparison) : '') + (pruned ? formatPrunedComparison(pruned, result.originalExpertIds ? 'the original' : 'the pruned model') : ''));
    } finally {
      process.off('SIGINT', onSigint);
      await engine.dispose();
    }
  });
}

/**
 * With --out, the run's checkpoint (atlas.checkpoint.json there): an interrupted run (Ctrl-C, a crash) given the same
 * model, corpus and options continues from it. Its key: everything the counts depend on, not --permutations.
 */
async function atlasCheckpoint(model: string, flags: AtlasFlags): Promise<{ file: string; key: string }> {
  const { permutations: _p, out, compare: _c, json: _j, ...rest } = flags as AtlasFlags & Record<string, unknown>;
  await mkdir(out!, { recursive: true });
  const corpus = corpusPaths(flags.corpus).map((p) => path.resolve(p));
  return { file: path.join(out!, 'atlas.checkpoint.json'), key: JSON.stringify({ model: model === 'demo' ? model : path.resolve(model), ...rest, corpus }) };
}

async function readAtlas(file: string): Promise<NamedAtlas> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new EngineError('file-not-found', `cannot read the atlas ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const atlas = value as NamedAtlas;
  if (!Array.isArray(atlas?.layers) || typeof atlas.experts !== 'number' || !Array.isArray(atlas.labels))
    throw new EngineError('internal', `${file} is not an atlas.json written by moe-lens atlas --out`);
  return { ...atlas, model: typeof atlas.model === 'string' ? atlas.model : path.basename(file) };
}

function formatAtlas(r: AtlasResult): string {
  const lines = [
    `${r.model}: ${formatNoun(r.items, 'item')}, ${formatCount(r.tokens)} tokens (${r.labels.join(', ')}), ${formatNoun(r.skipped, 'input')} skipped, ` +
      `${formatDuration(r.ms)} (${formatDecimal(r.tokensPerSecond, 0)} tok/s)`,
    `I(label; top-1 expert) per MoE layer, chance = mean over ${formatNoun(r.permutations, 'label permutation')}:`,
    'layer  MI bits  chance  p      normalised  class MI  load entropy',
  ];
  for (const l of r.layers)
    lines.push(
      `${String(l.layer).padStart(5)}  ${formatDecimal(l.miBits, 3).padStart(7)}  ${formatDecimal(l.chanceBits, 3).padStart(6)}  ${formatDecimal(l.pValue, 3).padEnd(5)}  ` +
        `${formatPercent(l.normalizedMi).padStart(10)}  ${formatDecimal(l.classMiBits, 3).padStart(8)}  ${formatPercent(l.load.normalizedEntropy).padStart(12)}`,
    );
  return lines.join('\n') + '\n';
}

function formatComparison(shifts: ReturnType<typeof compareAtlases>): string {
  const lines = ['compared with the earlier atlas:'];
  for (const s of shifts)
    lines.push(
      `  layer ${s.layer}: load shift ${formatDecimal(s.loadJs, 3)} bits (JS), MI ${formatDecimal(s.miBitsA, 3)} → ${formatDecimal(s.miBitsB, 3)}` +
        (s.moved.length ? `; moved: ${s.moved.map((m) => `${m.expert} (${formatPercent(m.shareA)} → ${formatPercent(m.shareB)})`).join(', ')}` : ''),
    );
  return lines.join('\n') + '\n';
}

function formatPrunedComparison(c: PrunedComparison, earlier: string): string {
  const lines = [`compared with the atlas of ${earlier} (${c.originalExperts} → ${c.prunedExperts} experts per layer; experts by their original ids, shares original → pruned):`];
  for (const l of c.layers) {
    const labels = l.labels.slice(0, 3).map((m) => `${m.name} ${m.topOriginal.join('/')} → ${m.topPruned.join('/')} (JS ${formatDecimal(m.js, 3)})`);
    lines.push(
      `  layer ${l.layer}: load shift ${formatDecimal(l.loadJs, 3)} bits (JS); removed ${l.removed.map(formatShareChange).join(', ')}, ${formatPercent(l.removedShare)} of the load; ` +
        `went to ${l.gained.map(formatShareChange).join(', ') || MISSING}${labels.length ? `; top experts: ${labels.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
