// Real servers for the remote tests: llama.cpp's llama-server (built from the bundled llama.cpp source by
// scripts/llama-tools.mjs, cached outside the repository) and `moe-lens serve`, each started on 127.0.0.1 and a
// free port, waited for until it answers, and stopped by the test (process group kill: nothing is left running).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { binDir, buildTools } from '../../scripts/llama-tools.mjs';

export const ROOT = path.resolve(__dirname, '../..');
export const FIXTURE = path.join(ROOT, 'fixtures', 'moe-llama.gguf');
/**
 * The trained demo model: llama-server's answer parser refuses the random-weight fixtures' output (they emit byte
 * tokens that do not form UTF-8, and it ends the stream with "does not match the expected Content-only format").
 */
export const DEMO = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');

/** Builds llama-server if it is not built yet (once per llama.cpp release, minutes) and returns the bin folder. */
export function llamaToolsBin(): string {
  buildTools(['llama-server']);
  return binDir();
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningServer {
  url: string;
  port: number;
  child: ChildProcess;
  log: () => string;
  /** SIGKILL to the whole process group, resolved when it has exited. */
  kill(): Promise<void>;
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${log().slice(-2000)}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} not healthy after ${timeoutMs} ms: ${log().slice(-2000)}`);
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv, url: string, port: number): Promise<RunningServer> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20000)));
  const server: RunningServer = {
    url,
    port,
    child,
    log: () => output,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          resolve();
        }
      }),
  };
  return waitHealthy(url, child, server.log).then(
    () => server,
    async (error: unknown) => {
      await server.kill();
      throw error;
    },
  );
}

/** llama-server with `parallel` slots of `slotContext` tokens each, on `threads` CPU threads (default 1). */
export async function startLlamaServer(options: { model?: string; port?: number; parallel?: number; slotContext?: number; apiKey?: string; threads?: number } = {}): Promise<RunningServer> {
  const bin = llamaToolsBin();
  const port = options.port ?? (await freePort());
  const parallel = options.parallel ?? 4;
  const args = ['-m', options.model ?? DEMO, '--host', '127.0.0.1', '--port', String(port), '-t', String(options.threads ?? 1), '-np', String(parallel), '-c', String(parallel * (options.slotContext ?? 512)), '--no-warmup'];
  if (options.apiKey) args.push('--api-key', options.apiKey);
  return start(path.join(bin, 'llama-server'), args, { LD_LIBRARY_PATH: bin }, `http://127.0.0.1:${port}`, port);
}

/** `moe-lens serve` of the built CLI (dist/cli.js; `npm run build:ts` first). */
export async function startMoeLensServe(options: { model?: string; extra?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<RunningServer> {
  const port = await freePort();
  const args = [path.join(ROOT, 'bin', 'moe-lens.js'), 'serve', options.model ?? FIXTURE, '--port', String(port), ...(options.extra ?? [])];
  return start(process.execPath, args, { MOE_LENS_THREADS: '1', ...options.env }, `http://127.0.0.1:${port}`, port);
}
