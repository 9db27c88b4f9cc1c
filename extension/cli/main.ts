// `moe-lens`: the headless CLI over the engine (and the evals).
import { Command, InvalidArgumentError, Option } from 'commander';
import { createAnyEngine } from '../engine/any-engine';
import { resolveModelArg } from '../engine/demo-model';
import { isEngineError } from '../engine/errors';
import type { CpuMoe, Engine, LocalLoadOptions, ModelInfo, TokenFrame } from '../engine/types';
import { formatModelInfo } from './format';
import { jsonlLines } from '../routing/export';
import { registerEvalCommands } from './eval-commands';

function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

export function parseCpuMoe(value: string): CpuMoe {
  if (value === 'all' || value === 'none' || value === 'auto') return value;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0) return n;
  throw new InvalidArgumentError('expected all, none, auto or a number of layers');
}

function parseGpuLayers(value: string): LocalLoadOptions['gpuLayers'] {
  if (value === 'auto' || value === 'max') return value;
  return parseInteger(value);
}

interface ModelOptions {
  gpuLayers?: LocalLoadOptions['gpuLayers'];
  cpuMoe: CpuMoe;
  context?: number;
  threads?: number;
}

function addModelOptions(command: Command): Command {
  return command
    .option('--gpu-layers <n|auto|max>', 'layers on the GPU (ignored on CPU)', parseGpuLayers)
    .option('--cpu-moe <all|none|auto|N>', 'expert weights in system RAM: all layers, none, auto-fit, or the first N layers', parseCpuMoe, 'auto')
    .option('--context <tokens>', 'context size in tokens', parseInteger)
    .option('--threads <n>', 'CPU threads', parseInteger);
}

function loadOptions(modelPath: string, options: ModelOptions): LocalLoadOptions {
  return { modelPath: resolveModelArg(modelPath), gpuLayers: options.gpuLayers, cpuMoe: options.cpuMoe, contextSize: options.context, threads: options.threads };
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  createEngine: () => Engine & { dispose(): Promise<void> };
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('moe-lens')
    .description('Run local Mixture-of-Experts GGUF models and see which experts every token used.')
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  addModelOptions(program.command('inspect').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description('model facts: architecture, MoE configuration, parameter counts, placement plan')
    .option('--json', 'print JSON')
    .action(async (model: string, options: ModelOptions & { json?: boolean }) => {
      const engine = io.createEngine();
      try {
        const info = await engine.inspect(loadOptions(model, options));
        io.stdout(options.json ? JSON.stringify(info, null, 2) + '\n' : formatModelInfo(info));
      } finally {
        await engine.dispose();
      }
    });

  addModelOptions(program.command('generate').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description('generate text; with --json, one line per token with its routing')
    .requiredOption('-p, --prompt <text>', 'the prompt')
    .option('-n, --max-tokens <n>', 'tokens to generate', parseInteger, 128)
    .option('-t, --temperature <t>', 'sampling temperature (0 = greedy)', parseNumber, 0)
    .option('--top-k <k>', 'top-k sampling', parseInteger, 40)
    .option('--top-p <p>', 'top-p sampling', parseNumber, 0.95)
    .option('--min-p <p>', 'min-p sampling', parseNumber, 0.05)
    .option('--repeat-penalty <x>', 'repeat penalty (1 = off)', parseNumber, 1)
    .option('-s, --seed <n>', 'random seed', parseInteger, 0)
    .option('--stop <text...>', 'stop strings')
    .option('--chat', "wrap the prompt in the model's chat template")
    .option('--system <text>', 'system prompt (with --chat)')
    .option('--no-routing', 'do not capture routing')
    .option('--json', 'JSON lines: every token with its routing, then a summary')
    .action(async (model: string, options: GenerateCliOptions) => {
      const engine = io.createEngine();
      try {
        await generateCommand(engine, model, options, io);
      } finally {
        await engine.dispose();
      }
    });

  registerEvalCommands(program, { createEngine: io.createEngine, stdout: io.stdout, stderr: io.stderr });

  program.addOption(new Option('--quiet', 'no engine log on stderr').hideHelp());
  return program;
}

interface GenerateCliOptions extends ModelOptions {
  prompt: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  seed: number;
  stop?: string[];
  chat?: boolean;
  system?: string;
  routing: boolean;
  json?: boolean;
}

async function generateCommand(engine: Engine, model: string, options: GenerateCliOptions, io: CliIo): Promise<void> {
  const info: ModelInfo = await engine.load(loadOptions(model, options));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await engine.generate(
      {
        input: options.chat
          ? { kind: 'chat', messages: [...(options.system ? [{ role: 'system' as const, content: options.system }] : []), { role: 'user', content: options.prompt }] }
          : { kind: 'text', text: options.prompt },
        sampling: {
          temperature: options.temperature,
          topK: options.topK,
          topP: options.topP,
          minP: options.minP,
          repeatPenalty: options.repeatPenalty,
          seed: options.seed,
          maxTokens: options.maxTokens,
          stop: options.stop ?? [],
        },
        captureRouting: options.routing,
      },
      {
        signal: controller.signal,
        onFrame: (frame: TokenFrame) => {
          if (options.json) for (const line of jsonlLines([frame])) io.stdout(line + '\n');
          else io.stdout(frame.textDelta);
        },
      },
    );
    const summary = {
      done: true,
      promptTokens: result.promptTokens,
      generatedTokens: result.generatedTokens,
      promptTokensPerSecond: round(result.promptTokensPerSecond),
      generatedTokensPerSecond: round(result.generatedTokensPerSecond),
      timeToFirstTokenMs: round(result.timeToFirstTokenMs),
      stopReason: result.stopReason,
      routingCaptured: result.routingCaptured,
      model: info.name,
    };
    if (options.json) io.stdout(JSON.stringify(summary) + '\n');
    else {
      io.stdout('\n');
      io.stderr(
        `\n${result.promptTokens} prompt tokens (${summary.promptTokensPerSecond} tok/s), ${result.generatedTokens} generated (${summary.generatedTokensPerSecond} tok/s), stop: ${result.stopReason}\n`,
      );
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function main(argv: string[]): Promise<number> {
  const quiet = argv.includes('--quiet');
  const io: CliIo = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    createEngine: () =>
      createAnyEngine({
        log: (level, message) => {
          if (!quiet && (level === 'error' || (level === 'warn' && process.env.MOE_LENS_DEBUG))) process.stderr.write(`[engine] ${message}\n`);
          if (process.env.MOE_LENS_DEBUG && level !== 'error' && level !== 'warn') process.stderr.write(`[engine] ${message}\n`);
        },
      }),
  };
  const program = buildProgram(io).exitOverride();
  try {
    await program.parseAsync(argv.filter((a) => a !== '--quiet'), { from: 'user' });
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (code?.startsWith('commander.')) return 2;
    io.stderr(`moe-lens: ${isEngineError(error) ? error.message : (error as Error).message}\n`);
    return 1;
  }
}

