// `moe-lens fit [MODEL…] [--recommended]`: from each model's header alone (a local file, a URL or an `hf:` URI read
// over the network, a few range requests), whether it fits a GPU of 12, 16, 24… GiB as it is and with 25 %, 50 %…
// of each layer's experts pruned, and the pruned file's size (engine/fit-verdicts.ts). --recommended takes every file
// option of node-llama-cpp's recommended MoE models. A table per model, or --json one line per model. A model that
// cannot be read is one line on stderr and the others go on; the exit code is then 1. Registered by main.ts.
import { InvalidArgumentError, type Command } from 'commander';
import { resolveModelArg } from '../engine/demo-model';
import { EngineError, isEngineError } from '../engine/errors';
import { fitVerdicts, GiB, readModelHeader, type ModelFits } from '../engine/fit-verdicts';
import { moeRecommendations, type Fit } from '../engine/recommended';
import { formatBytes, formatNoun } from '../format';

interface FitFlags {
  recommended?: boolean;
  gpu: number[];
  drop: number[];
  context: number;
  json?: boolean;
}

const DEFAULT_CONTEXT = 4096;

/** A comma-separated list of numbers, each checked by `ok` (its refusal: `expected`). */
function numberList(expected: string, ok: (n: number) => boolean) {
  return (value: string): number[] => {
    const list = value.split(',').map((s) => Number(s.trim()));
    if (list.length === 0 || list.some((n) => !Number.isFinite(n) || !ok(n))) throw new InvalidArgumentError(`expected ${expected}`);
    return [...new Set(list)];
  };
}

/** A table cell: `fits`, `N/M` (the experts of N of M layers in RAM), or `—` (too big even so). */
function cell(fit: Fit): string {
  if (fit.kind === 'vram') return 'fits';
  if (fit.kind === 'experts-in-ram') return `${fit.layers}/${fit.of}`;
  return '—';
}

const LEGEND =
  'fits: every weight in VRAM · N/M: the experts of the first N of M layers in RAM, the rest on the GPU · ' +
  '—: too big even with every expert in RAM. The GPU\'s whole memory counts as free; the context\'s KV cache and buffers count against it.';

/** Columns padded to their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => '  ' + r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

const percent = (share: number) => `${Math.round(share * 100)} %`;

function formatFits(title: string, f: ModelFits): string {
  const s = f.shape;
  const head =
    `${title}\n  ${s.architecture}, ${formatNoun(s.experts, 'expert')} (${s.expertsPerToken} per token) in ${s.moeLayers.length} of ${f.layers} layers; ` +
    `context ${f.context}: ${formatBytes(f.contextBytes)} on the GPU`;
  const rows = [
    ['drop', 'experts', 'file', ...f.gpuBytes.map((b) => `${+(b / GiB).toPrecision(3)} GiB`)],
    ...f.rows.map((r) => [r.drop ? `${percent(r.share)} (${r.drop})` : '0 %', String(r.experts), formatBytes(r.bytes), ...r.fits.map(cell)]),
  ];
  const missing = f.unavailable.length ? `\n  not possible: drop ${f.unavailable.map(percent).join(', ')} (too few experts left for the ${s.expertsPerToken} a token uses, or the same count as a smaller share)` : '';
  return `${head}\n${table(rows)}${missing}\n`;
}

function fitsJson(model: string, f: ModelFits, bytesFetched: number | undefined) {
  return {
    model,
    name: f.shape.name,
    architecture: f.shape.architecture,
    experts: f.shape.experts,
    expertsPerToken: f.shape.expertsPerToken,
    moeLayers: f.shape.moeLayers.length,
    layers: f.layers,
    context: f.context,
    contextBytes: f.contextBytes,
    ...(bytesFetched !== undefined ? { bytesFetched } : {}),
    rows: f.rows.map((r) => ({
      share: r.share,
      drop: r.drop,
      experts: r.experts,
      bytes: r.bytes,
      gpus: r.fits.map((fit, i) => ({ gib: f.gpuBytes[i] / GiB, fit: fit.kind, ...(fit.kind === 'experts-in-ram' ? { layersInRam: fit.layers, of: fit.of } : {}) })),
    })),
    unavailable: f.unavailable,
  };
}

export function registerFitCommand(program: Command, io: { stdout: (text: string) => void; stderr: (text: string) => void }): void {
  program
    .command('fit')
    .argument('[models...]', 'GGUF model files (or demo), http(s) URLs or hf: URIs (hf:owner/repo:QUANT, hf:owner/repo/file.gguf)')
    .description('from the header alone: does the model fit a GPU of each size, as it is and with a share of its experts pruned')
    .option('--recommended', "every file option of node-llama-cpp's recommended MoE models (their headers are read over the network)")
    .option('--gpu <GiB,…>', 'GPU memory sizes in GiB', numberList('GiB sizes above 0, joined with commas (e.g. 12,16,24)', (n) => n > 0), [12, 16, 24])
    .option('--drop <percent,…>', "shares of each layer's experts to drop", numberList('percentages from 0 to 99, joined with commas (e.g. 0,25,50)', (n) => n >= 0 && n < 100), [0, 25, 50])
    .option('--context <n>', 'context size whose KV cache counts against the GPU', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 64) throw new InvalidArgumentError('expected a whole number of tokens, at least 64');
      return n;
    }, DEFAULT_CONTEXT)
    .option('--json', 'one JSON line per model')
    .action(async (models: string[], flags: FitFlags) => {
      const targets: { model: string; title: string }[] = models.map((m) => ({ model: resolveModelArg(m), title: m }));
      if (flags.recommended)
        for (const r of await moeRecommendations()) for (const uri of r.fileOptions) targets.push({ model: uri, title: `${r.name}: ${uri}` });
      if (targets.length === 0) throw new EngineError('file-not-found', 'name a model (a file, a URL or an hf: URI), or give --recommended');
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const failed: string[] = [];
      try {
        for (const { model, title } of targets) {
          try {
            const header = await readModelHeader(model, controller.signal);
            const fits = await fitVerdicts(header, { gpuBytes: flags.gpu.map((g) => g * GiB), shares: flags.drop.map((d) => d / 100), context: flags.context });
            io.stdout(flags.json ? JSON.stringify(fitsJson(model, fits, header.bytesFetched)) + '\n' : formatFits(title, fits) + '\n');
          } catch (error) {
            if (!isEngineError(error) || error.code === 'aborted' || targets.length === 1) throw error;
            failed.push(model);
            io.stderr(`moe-lens: ${error.message}\n`);
          }
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
      if (!flags.json) io.stdout(`${LEGEND}\n`);
      if (failed.length) throw new EngineError('remote-unavailable', `${failed.length} of ${targets.length} models could not be read (above)`);
    });
}
