// `moe-lens`: the headless CLI over the engine (and the evals).
import { Command, InvalidArgumentError, Option } from 'commander';
import { createAnyEngine } from '../engine/any-engine';
import { resolveModelArg } from '../engine/demo-model';
import { isEngineError } from '../engine/errors';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CpuMoe, Engine, LoadOptions, LocalLoadOptions, ModelInfo, RemoteLoadOptions, TokenFrame } from '../engine/types';
import { isLoopbackHost } from '../engine/http';
import { createServeHandler } from '../engine/serve';
import { formatModelInfo, modelInfoJson } from './format';
import { exportTokens, jsonlLines } from '../routing/export';
import { registerEvalCommands, type EndpointOptions } from './eval-commands';
import { addInterventionOptions, interventionOf, registerPerplexityAndImportanceCommands, type InterventionFlags } from './intervention-commands';
import { withExpertsPerToken } from '../engine/backends';
import { formatIntervention } from '../engine/intervention';
import { registerPruneCommand } from './prune-command';
import { registerFitCommand } from './fit-command';
import { GREEDY_SAMPLING } from '../engine/sampling';
import { localLoadOptions, parseCpuMoe, parseGpuLayers, parseRoutingShape, serverLoadOptions, type GpuLayers, type Parsed } from '../engine/load-settings';
import { registerAtlasCommand } from './atlas-command';
import { addRpcOptions, rpcLoadOptions, type RpcFlags } from './rpc-options';

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

/** A commander parser from a settings parser (engine/load-settings.ts): its "expected …" is the refusal. */
function flag<T>(parse: (value: unknown) => Parsed<T>): (value: string) => T {
  return (value) => {
    const parsed = parse(value);
    if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
    return parsed.value;
  };
}

interface ModelOptions extends RpcFlags {
  gpuLayers?: GpuLayers;
  cpuMoe: CpuMoe;
  context?: number;
  threads?: number;
}

function addModelOptions(command: Command): Command {
  return addRpcOptions(command)
    .option('--gpu-layers <n|auto|max>', 'layers on the GPU (ignored on CPU)', flag(parseGpuLayers))
    .option('--cpu-moe <all|none|auto|N>', 'expert weights in system RAM: all layers, none, auto-fit, or the first N layers', flag(parseCpuMoe), 'auto')
    .option('--context <tokens>', 'context size in tokens', parseInteger)
    .option('--threads <n>', 'CPU threads', parseInteger);
}


function addRemoteOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', 'an OpenAI-compatible server (llama-server, vLLM, SGLang, Ollama, LM Studio, moe-lens serve)')
    .option('--model <name>', 'with --endpoint: the model id (default: the server\'s first)')
    .option('--api-key-env <VAR>', 'with --endpoint: read the API key from this environment variable')
    .option('--no-stream', 'with --endpoint: do not stream (vLLM then reports routed experts)')
    .option('--routing-shape <LAYERSxK>', "with --endpoint: MoE layers × experts per token, for SGLang's routing", flag(parseRoutingShape));
}

function apiKeyFrom(variable: string): string {
  const key = process.env[variable];
  if (!key) throw new Error(`the environment variable ${variable} (--api-key-env) is not set`);
  return key;
}

/** The server options of --endpoint and its companions. */
export function remoteOptions(options: EndpointOptions & { context?: number }): RemoteLoadOptions {
  return serverLoadOptions({
    endpoint: options.endpoint!,
    model: options.model,
    ...(options.apiKeyEnv ? { apiKey: apiKeyFrom(options.apiKeyEnv) } : {}),
    stream: options.stream,
    routingShape: options.routingShape,
    contextSize: options.context,
  });
}

function targetOptions(model: string | undefined, options: ModelOptions & EndpointOptions): LoadOptions {
  if (options.endpoint) {
    if (model) throw new Error(`give either a model file (${model}) or --endpoint, not both`);
    return remoteOptions(options);
  }
  if (!model) throw new Error('give a model file (or demo), or --endpoint URL');
  return loadOptions(model, options);
}

/** `generate --json` lines of a frame: the local format; text-only frames (servers without token ids) as {index, phase, text}. */
function* frameLines(frame: TokenFrame): Generator<string> {
  if (frame.ids.length === 0) {
    if (frame.textDelta) yield JSON.stringify({ index: frame.firstIndex, phase: frame.phase, text: frame.textDelta });
    return;
  }
  if (frame.weights.length && frame.ids.every((id) => id >= 0)) {
    yield* jsonlLines([frame]);
    return;
  }
  // No gate weights (or no token ids): leave out what the server did not give.
  for (const t of exportTokens([frame])) {
    yield JSON.stringify({ index: t.index, phase: t.phase, text: t.text, ...(t.id >= 0 ? { id: t.id } : {}), ...(t.experts.length ? { experts: t.experts } : {}) });
  }
}

function loadOptions(modelPath: string, options: ModelOptions): LocalLoadOptions {
  const local = localLoadOptions(resolveModelArg(modelPath), { gpuLayers: options.gpuLayers, cpuMoe: options.cpuMoe, contextSize: options.context, threads: options.threads });
  return { ...local, ...rpcLoadOptions(options) };
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
        io.stdout(options.json ? JSON.stringify(modelInfoJson(info), null, 2) + '\n' : formatModelInfo(info));
      } finally {
        await engine.dispose();
      }
    });

  const generate = addRemoteOptions(addModelOptions(program.command('generate').argument('[model]', 'GGUF model file, or demo for the built-in model (or --endpoint)')))
    .description('generate text; with --json, one line per token with its routing')
    .requiredOption('-p, --prompt <text>', 'the prompt')
    .option('-n, --max-tokens <n>', 'tokens to generate', parseInteger, 128)
    .option('-t, --temperature <t>', 'sampling temperature (0 = greedy)', parseNumber, GREEDY_SAMPLING.temperature)
    .option('--top-k <k>', 'top-k sampling', parseInteger, GREEDY_SAMPLING.topK)
    .option('--top-p <p>', 'top-p sampling', parseNumber, GREEDY_SAMPLING.topP)
    .option('--min-p <p>', 'min-p sampling', parseNumber, GREEDY_SAMPLING.minP)
    .option('--repeat-penalty <x>', 'repeat penalty (1 = off)', parseNumber, GREEDY_SAMPLING.repeatPenalty)
    .option('-s, --seed <n>', 'random seed', parseInteger, GREEDY_SAMPLING.seed)
    .option('--stop <text...>', 'stop strings')
    .option('--chat', "wrap the prompt in the model's chat template")
    .option('--system <text>', 'system prompt (with --chat)')
    .option('--no-routing', 'do not capture routing')
    .option('--json', 'JSON lines: every token with its routing, then a summary');
  addInterventionOptions(generate, parseInteger)
    .action(async (model: string | undefined, options: GenerateCliOptions) => {
      const target = targetOptions(model, options);
      const engine = io.createEngine();
      try {
        await generateCommand(engine, target, options, io);
      } finally {
        await engine.dispose();
      }
    });

  // What the model commands registered from other files share.
  const modelDeps = {
    createEngine: io.createEngine,
    stdout: io.stdout,
    stderr: io.stderr,
    addModelOptions,
    loadOptions: loadOptions as (model: string, options: never) => LoadOptions,
    parseInteger,
  };
  registerPerplexityAndImportanceCommands(program, modelDeps);
  registerEvalCommands(program, { createEngine: io.createEngine, stdout: io.stdout, stderr: io.stderr, remoteOptions });
  registerPruneCommand(program, modelDeps);
  registerFitCommand(program, io);
  registerAtlasCommand(program, modelDeps);

  addModelOptions(program.command('serve').argument('<model>', 'GGUF model file, or demo for the built-in model'))
    .description("serve the model over the OpenAI-compatible HTTP API, with routing in SGLang's format plus gate weights")
    .option('--host <address>', 'address to listen on (other than loopback needs --api-key-env)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free one)', parseInteger, 8080)
    .option('--api-key-env <VAR>', 'require the API key in this environment variable from clients')
    .action(async (model: string, options: ModelOptions & { host: string; port: number; apiKeyEnv?: string }) => {
      const apiKey = options.apiKeyEnv ? apiKeyFrom(options.apiKeyEnv) : undefined;
      if (!apiKey && !isLoopbackHost(options.host))
        throw new Error(`serving on ${options.host} reaches other machines: give --api-key-env VAR so that only clients with the key get answers`);
      const engine = io.createEngine();
      try {
        const info = await engine.load(loadOptions(model, options));
        const server = http.createServer(createServeHandler({ engine, apiKey, log: (m) => io.stderr(`moe-lens serve: ${m}\n`) }));
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(options.port, options.host, () => resolve());
        });
        const { port } = server.address() as AddressInfo;
        const host = options.host.includes(':') ? `[${options.host}]` : options.host;
        io.stdout(`http://${host}:${port}\n`);
        io.stderr(`moe-lens serve: ${info.name} at http://${host}:${port}/v1 (Ctrl-C stops)${apiKey ? ', API key required' : ''}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      } finally {
        await engine.dispose();
      }
    });

  program.addOption(new Option('--quiet', 'no engine log on stderr').hideHelp());
  return program;
}

interface GenerateCliOptions extends ModelOptions, EndpointOptions, InterventionFlags {
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

async function generateCommand(engine: Engine, target: LoadOptions, options: GenerateCliOptions, io: CliIo): Promise<void> {
  const intervention = interventionOf(options); // a bad SPEC fails before the model loads
  const info: ModelInfo = await engine.load(withExpertsPerToken(target, options.expertsPerToken));
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
        intervention,
      },
      {
        signal: controller.signal,
        onFrame: (frame: TokenFrame) => {
          if (options.json) for (const line of frameLines(frame)) io.stdout(line + '\n');
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
      expertsPerToken: info.routing?.expertsPerToken ?? 0,
      intervention: formatIntervention(intervention) || null,
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

