// `moe-lens serve` with a real engine on a generated MoE fixture: the routing a client decodes (through the remote
// engine, and raw in SGLang's format) equals `moe-lens generate --json` for the same prompt and seed, token for
// token; the API key is enforced; a non-loopback host without a key is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { RemoteEngine } from '../../extension/engine/remote-engine';
import { decodeSglangRouting } from '../../extension/engine/server-routing';
import type { TokenFrame } from '../../extension/engine/types';
import { FIXTURE, ROOT, freePort, startMoeLensServe, type RunningServer } from './servers';

const run = promisify(execFile);
const CLI = path.join(ROOT, 'bin', 'moe-lens.js');
const PROMPT = 'The router sends every token to two experts';
const ARGS = ['--prompt', PROMPT, '-n', '10', '-t', '0.9', '-s', '7', '--json'];

interface Line {
  index: number;
  phase: string;
  id: number;
  text: string;
  experts: number[][];
  weights: number[][];
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Line[]> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, MOE_LENS_THREADS: '1', ...env }, maxBuffer: 64 * 2 ** 20 });
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => !('done' in l));
}

let server: RunningServer;
let local: Line[];

beforeAll(async () => {
  [server, local] = await Promise.all([startMoeLensServe(), cli(['generate', FIXTURE, ...ARGS])]);
});
afterAll(async () => {
  await server?.kill();
});

describe('moe-lens serve', () => {
  it('generate --endpoint prints the same lines as local generation: ids, texts, experts and gate weights', async () => {
    expect(local.filter((l) => l.phase === 'generated')).toHaveLength(10);
    const remote = await cli(['generate', '--endpoint', server.url, ...ARGS]);
    expect(remote).toEqual(local);
  });

  it('the remote engine decodes the streamed routing into the engine frames, token for token', async () => {
    const engine = new RemoteEngine();
    const info = await engine.load({ backend: 'remote', endpoint: server.url });
    expect(info.remote?.server).toBe('moe-lens');
    expect(info.capabilities).toMatchObject({ routingIds: true, gateWeights: true, tokenIds: true, tokenCounting: 'exact', concurrentRequests: true });
    expect([info.routing!.moeLayers.length, info.routing!.expertsPerToken, info.routing!.experts]).toEqual([4, 2, 8]);
    const frames: TokenFrame[] = [];
    await engine.generate(
      { input: { kind: 'text', text: PROMPT }, sampling: { maxTokens: 10, temperature: 0.9, seed: 7, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1 } },
      { onFrame: (f) => frames.push(f) },
    );
    const L = info.routing!.moeLayers.length;
    const k = info.routing!.expertsPerToken;
    const tokens = frames.flatMap((f) =>
      Array.from(f.ids, (id, t) => ({
        index: f.firstIndex + t,
        id,
        experts: Array.from({ length: L }, (_, l) => Array.from(f.experts.subarray((t * L + l) * k, (t * L + l + 1) * k))),
      })),
    );
    expect(tokens).toEqual(local.map((l) => ({ index: l.index, id: l.id, experts: l.experts })));
    expect(await engine.countTokens({ kind: 'text', text: PROMPT })).toBe(local.filter((l) => l.phase === 'prompt').length);
  });

  it("answers in SGLang's format: sgl_ext.routed_experts is [tokens, layers, k] int32 of the prompt and the answer", async () => {
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, max_tokens: 10, temperature: 0.9, seed: 7, top_k: 40, top_p: 0.95, min_p: 0.05, repeat_penalty: 1, return_routed_experts: true }),
    });
    const body = (await response.json()) as { choices: { text: string; sgl_ext: { routed_experts: string } }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    const routing = decodeSglangRouting(body.choices[0].sgl_ext.routed_experts, 4, 2);
    expect(routing.tokens).toBe(local.length);
    expect(Array.from(routing.experts)).toEqual(local.flatMap((l) => l.experts.flat()));
    expect(body.choices[0].text).toBe(local.filter((l) => l.phase === 'generated').map((l) => l.text).join(''));
    expect(body.usage).toMatchObject({ prompt_tokens: local.filter((l) => l.phase === 'prompt').length, completion_tokens: 10 });
  });

  it('with --api-key-env, requests without the key get 401 and the remote engine with it works', async () => {
    const keyed = await startMoeLensServe({ extra: ['--api-key-env', 'MOE_TEST_KEY'], env: { MOE_TEST_KEY: 's3cret' } });
    try {
      const bare = await fetch(`${keyed.url}/v1/models`);
      expect(bare.status).toBe(401);
      expect(((await bare.json()) as { error: { message: string } }).error.message).toMatch(/API key/);
      await expect(new RemoteEngine().load({ backend: 'remote', endpoint: keyed.url, apiKey: 'wrong' })).rejects.toThrow(/HTTP 401/);
      const engine = new RemoteEngine();
      await engine.load({ backend: 'remote', endpoint: keyed.url, apiKey: 's3cret' });
      const result = await engine.generate({ input: { kind: 'text', text: 'x' }, sampling: { maxTokens: 2 } });
      expect(result.generatedTokens).toBe(2);
    } finally {
      await keyed.kill();
    }
  });

  it('generate --endpoint: an unreachable server and an unset key variable are one line each, exit 1', async () => {
    const fail = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }).catch((e: { code: number; stderr: string }) => e);
    const port = await freePort();
    const refused = (await fail(['generate', '--endpoint', `http://127.0.0.1:${port}`, '--prompt', 'x'])) as { code: number; stderr: string };
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`moe-lens: cannot connect to http://127.0.0.1:${port}: connection refused (is the server running?)\n`);
    const unset = (await fail(['generate', '--endpoint', server.url, '--api-key-env', 'MOE_LENS_NO_SUCH_VAR', '--prompt', 'x'])) as { code: number; stderr: string };
    expect(unset.code).toBe(1);
    expect(unset.stderr).toBe('moe-lens: the environment variable MOE_LENS_NO_SUCH_VAR (--api-key-env) is not set\n');
  });

  it('refuses a non-loopback host without an API key', async () => {
    const error = await run(process.execPath, [CLI, 'serve', FIXTURE, '--host', '0.0.0.0', '--port', '0']).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).toBe(1);
    expect((error as { stderr: string }).stderr).toMatch(/^moe-lens: serving on 0\.0\.0\.0 reaches other machines: give --api-key-env VAR/);
  });
});
