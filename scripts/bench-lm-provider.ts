// VS Code chat's provider path against the sidebar chat's (a benchmark, not a test): prints figures.
//   npx tsx scripts/bench-lm-provider.ts [--model demo] [--rounds 5] [--tokens 256] [--threads 1] [--prompt TEXT]
// One engine process, one model session and the sidebar's generation runner, as in the extension. Per round
// (interleaved, alternating which goes first, so machine load hits both alike) one sidebar answer (ChatController.send: its frames batched for the
// webview, what the sidebar posts) and one provider request (LmServer.serve: what VS Code's progress callback gets),
// the same prompt, sampling and seed. Measured where each path hands text on: first-token latency (call → first text
// handed on) and tok/s (generated tokens ÷ first text → end). Both without VS Code itself (the extension host's RPC
// to a calling extension, the webview's rendering). Prints the median and range of each, and provider ÷ sidebar
// (for latency: sidebar ÷ provider, so ≥ 1 means the provider is not slower).
import { EngineClient } from '../extension/engine/client';
import { resolveModelArg } from '../extension/engine/demo-model';
import { ChatController } from '../extension/chat/controller';
import { ModelSession } from '../extension/chat/session';
import { LmRequestLog } from '../extension/chat/lm-messages';
import { LmServer } from '../extension/chat/lm-serve';
import type { SamplingOptions } from '../extension/engine/types';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const MODEL = resolveModelArg(arg('model', 'demo'));
const ROUNDS = Number(arg('rounds', '5'));
const TOKENS = Number(arg('tokens', '256'));
const THREADS = Number(arg('threads', '1'));
const PROMPT = arg('prompt', 'The router picks two experts for every token, and');
// The sidebar's sampling as the e2e settings give it; no stop strings (the answer runs to its length).
const SAMPLING: Partial<SamplingOptions> = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, seed: 7, maxTokens: TOKENS, stop: [] };

interface Run {
  firstMs: number;
  tokensPerSecond: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;

async function main(): Promise<void> {
  const engine = new EngineClient({ log: (level, message) => level === 'error' && console.error(`[engine] ${message}`) });
  const session = new ModelSession(engine, async () => ({ options: { modelPath: MODEL, threads: THREADS }, isDemo: false }));
  const settings = () => ({ systemPrompt: '', sampling: SAMPLING, captureRouting: true });
  let sidebarFirst: number | undefined;
  const controller = new ChatController({
    engine,
    session,
    settings,
    post: (m) => {
      if (m.type === 'chat.frames' && m.textDelta) sidebarFirst ??= performance.now();
    },
  });
  const server = new LmServer({ session, runner: controller.runner, settings, requests: new LmRequestLog() });
  const never = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };
  await session.ensureLoaded();

  const sidebar = async (): Promise<Run> => {
    sidebarFirst = undefined;
    controller.newChat();
    const t0 = performance.now();
    await controller.send(PROMPT);
    const end = performance.now();
    const stats = controller.conversation.at(-1)!.stats!;
    return { firstMs: sidebarFirst! - t0, tokensPerSecond: (stats.generatedTokens - 1) / ((end - sidebarFirst!) / 1000) };
  };
  const provider = async (): Promise<Run> => {
    let first: number | undefined;
    const t0 = performance.now();
    const { record } = await server.serve([{ role: 'user', text: PROMPT }], {}, 'bench', () => (first ??= performance.now()), never);
    const end = performance.now();
    return { firstMs: first! - t0, tokensPerSecond: (record.assistant.stats!.generatedTokens - 1) / ((end - first!) / 1000) };
  };

  await sidebar(); // warm-up (caches, first-use paths)
  await provider();
  const runs = { sidebar: [] as Run[], provider: [] as Run[] };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating which goes first: neither always runs right after the other.
    if (r % 2) runs.provider.push(await provider());
    runs.sidebar.push(await sidebar());
    if (!(r % 2)) runs.provider.push(await provider());
  }
  const line = (name: string, rs: Run[]) =>
    console.log(`${name.padEnd(9)} first token ${median(rs.map((r) => r.firstMs)).toFixed(1)} ms (${spread(rs.map((r) => r.firstMs))}), ${median(rs.map((r) => r.tokensPerSecond)).toFixed(1)} tok/s (${spread(rs.map((r) => r.tokensPerSecond))})`);
  console.log(`${MODEL}, ${THREADS} thread(s), ${TOKENS} tokens, ${ROUNDS} rounds`);
  line('sidebar', runs.sidebar);
  line('provider', runs.provider);
  const ratioFirst = median(runs.sidebar.map((r) => r.firstMs)) / median(runs.provider.map((r) => r.firstMs));
  const ratioSpeed = median(runs.provider.map((r) => r.tokensPerSecond)) / median(runs.sidebar.map((r) => r.tokensPerSecond));
  console.log(`provider ÷ sidebar: first-token ${ratioFirst.toFixed(3)} (sidebar latency ÷ provider latency), tok/s ${ratioSpeed.toFixed(3)}`);
  await controller.dispose();
  await engine.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
