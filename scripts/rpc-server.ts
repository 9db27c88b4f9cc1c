// A ggml-rpc-server on 127.0.0.1 for tests and benchmarks: built if missing (scripts/llama-tools.mjs --rpc), started
// on a free port, ready when it answers HELLO (its stdout is block-buffered in a pipe), stopped by `stop()`.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { checkRpcServers, parseRpcServers } from '../extension/engine/rpc';
import { buildRpc, rpcServerPath } from './llama-tools.mjs';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export async function startRpcServer(threads = 1): Promise<{ endpoint: string; stop: () => void }> {
  buildRpc();
  const port = await freePort();
  const endpoint = `127.0.0.1:${port}`;
  const server = spawn(rpcServerPath(), ['-H', '127.0.0.1', '-p', String(port), '-t', String(threads)], { stdio: 'ignore' });
  const stop = () => void server.kill();
  for (let attempt = 0; ; attempt++) {
    try {
      await checkRpcServers(parseRpcServers(endpoint), false, 1000);
      return { endpoint, stop };
    } catch (error) {
      if (attempt >= 50 || server.exitCode !== null) {
        stop();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
