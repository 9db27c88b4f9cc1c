// Router capture on an RPC device (not a test): decode and prompt speed with routing capture on and off, the model's
// layers on a ggml-rpc-server started here on 127.0.0.1 (built by `node scripts/llama-tools.mjs --rpc`), runs
// interleaved in one process. Capture reads each MoE layer's router nodes back from the device
// (ggml_backend_tensor_get), so this is the cost a GPU's device path pays, over loopback TCP.
//
//   npx tsx scripts/bench-rpc.ts [--model demo] [--cpu-moe none|all|N] [--runs 7] [--tokens 64] [--threads 1]
//
// Prints decode and prompt tok/s medians (and ranges) with capture on and off, and on ÷ off. --threads is the
// server's CPU threads (the client's are the engine's default). Run on a quiet machine.
import { parseArgs } from 'node:util';
import { resolveModelArg } from '../extension/engine/demo-model';
import { LocalEngine } from '../extension/engine/local-engine';
import type { CpuMoe } from '../extension/engine/types';
import { startRpcServer } from './rpc-server';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'demo' },
    'cpu-moe': { type: 'string', default: 'none' },
    runs: { type: 'string', default: '7' },
    tokens: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
  },
});
const runs = Math.max(3, Number(values.runs));
const maxTokens = Number(values.tokens);
const PROMPT = 'The history of the city begins with a small market by the river, where traders from the hills';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

async function main() {
  const { endpoint, stop } = await startRpcServer(Number(values.threads));
  try {
    const flag = values['cpu-moe']!;
    const cpuMoe: CpuMoe = /^\d+$/.test(flag) ? Number(flag) : (flag as CpuMoe);
    const engine = new LocalEngine();
    const model = await engine.load({ modelPath: resolveModelArg(values.model!), rpcServers: [endpoint], cpuMoe });
    const p = model.placement;
    console.log(`${model.name} on ${endpoint}: ${p.weights.map((w) => `${w.device} ${(w.bytes / 2 ** 20).toFixed(1)} MiB`).join(', ')}; experts of ${p.cpuMoeLayers} layers in RAM`);
    const decode = { on: [] as number[], off: [] as number[] };
    const prompt = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < runs; i++)
      for (const capture of i % 2 ? [false, true] : [true, false]) {
        const r = await engine.generate({
          input: { kind: 'text', text: PROMPT },
          sampling: { temperature: 0, maxTokens, repeatPenalty: 1 },
          captureRouting: capture,
          reuseCache: false,
        });
        decode[capture ? 'on' : 'off'].push(r.generatedTokensPerSecond);
        prompt[capture ? 'on' : 'off'].push(r.promptTokensPerSecond);
      }
    await engine.unload();
    for (const key of ['on', 'off'] as const)
      console.log(`capture ${key}: decode ${median(decode[key]).toFixed(1)} tok/s (range ${range(decode[key])}), prompt ${median(prompt[key]).toFixed(0)} tok/s (range ${range(prompt[key])})`);
    console.log(
      `capture on ÷ off: decode ${(median(decode.on) / median(decode.off)).toFixed(2)}, prompt ${(median(prompt.on) / median(prompt.off)).toFixed(2)} ` +
        `(${runs} interleaved runs of ${maxTokens} tokens each)`,
    );
  } finally {
    stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
