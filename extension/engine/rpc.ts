// llama.cpp RPC servers as model devices: the endpoint grammar, the loopback rule, a reachability check and where
// the RPC backend library lives. No `vscode` import.
//
// RPC has no authentication and no encryption: whoever reaches a server's port can run graphs on it and read what
// it holds, and the client trusts what the server sends back. A loopback server is only as exposed as this machine;
// any other host is used only when the user says so (`--allow-remote-rpc`, or a one-time confirmation in VS Code).
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { RpcDeviceReport } from './types';
import { formatBytes } from '../format';
import { EngineError } from './errors';
import { isLoopbackHost } from './http';

export interface RpcEndpoint {
  host: string;
  port: number;
  /** `host:port` as ggml-rpc takes it (IPv6 in brackets). */
  text: string;
}

/** Parses `HOST:PORT[,HOST:PORT…]` (or a list of them); every failure is one line naming the bad entry. */
export function parseRpcServers(value: string | readonly string[]): RpcEndpoint[] {
  const entries = (typeof value === 'string' ? value.split(',') : value).map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length === 0) throw new EngineError('bad-rpc', 'no RPC server given (expected HOST:PORT[,HOST:PORT…])');
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) throw new EngineError('bad-rpc', `bad RPC server "${entry}": expected HOST:PORT, e.g. 127.0.0.1:50052`);
    return { host: match[1].replace(/^\[|\]$/g, ''), port, text: entry };
  });
}

/**
 * The setting's and the flag's grammar (load-settings.ts's Parsed shape): `HOST:PORT[,HOST:PORT…]` or a list of them;
 * empty means no RPC. The error is the parser's one line.
 */
export function rpcServersSetting(value: unknown): { ok: true; value: RpcEndpoint[] } | { ok: false; error: string } {
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return { ok: true, value: [] };
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((v) => typeof v === 'string')))
    return { ok: false, error: 'expected HOST:PORT[,HOST:PORT…]' };
  try {
    return { ok: true, value: parseRpcServers(value) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** The servers on another host (they need the user's consent): a loopback one is no more exposed than this machine. */
export const remoteRpcServers = (servers: readonly RpcEndpoint[]) => servers.filter((s) => !isLoopbackHost(s.host));

/** Refuses another host without consent, then checks every server accepts a connection (ggml-rpc aborts the process on one that does not). */
export async function checkRpcServers(servers: readonly RpcEndpoint[], allowRemote: boolean, timeoutMs = 3000): Promise<void> {
  const remote = remoteRpcServers(servers);
  if (remote.length && !allowRemote)
    throw new EngineError(
      'bad-rpc',
      `RPC server ${remote.map((s) => s.text).join(', ')} is not on this machine: RPC is unauthenticated, so another host needs --allow-remote-rpc (VS Code asks once)`,
    );
  await Promise.all(servers.map((server) => hello(server, timeoutMs)));
}

// ggml-rpc's protocol (ggml/include/ggml-rpc.h and ggml-rpc.cpp of the bundled release): HELLO is command 14 with a
// 24-byte capabilities block; the answer is major, minor, patch, padding and 24 bytes, after its uint64 size.
const RPC_HELLO = 14;
const RPC_CAPS_BYTES = 24;
const RPC_PROTOCOL_MAJOR = 6;

/** Says HELLO to a server and checks its protocol version: a server that is not there is one line, not an abort. */
function hello(server: RpcEndpoint, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let answer = Buffer.alloc(0);
    const fail = (why: string) => {
      socket.destroy();
      reject(new EngineError('rpc-unavailable', `cannot use the RPC server at ${server.text}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s (is ggml-rpc-server running there, and not serving another client?)`));
    socket.once('error', (error: NodeJS.ErrnoException) => fail(`${error.code ?? error.message} (is ggml-rpc-server running there?)`));
    socket.once('connect', () => {
      const request = Buffer.alloc(1 + 8 + RPC_CAPS_BYTES);
      request.writeUInt8(RPC_HELLO, 0);
      request.writeBigUInt64LE(BigInt(RPC_CAPS_BYTES), 1);
      socket.write(request);
    });
    socket.on('data', (chunk) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 8 + 4) return;
      socket.destroy();
      const major = answer.readUInt8(8);
      if (answer.readBigUInt64LE(0) !== BigInt(4 + RPC_CAPS_BYTES) || major !== RPC_PROTOCOL_MAJOR)
        fail(`it does not speak ggml-rpc protocol ${RPC_PROTOCOL_MAJOR} (a ggml-rpc-server of another llama.cpp release?)`);
      else resolve();
    });
    socket.once('end', () => fail('it closed the connection without answering'));
  });
}

/** One RPC device in words (inspect, the model panel): its server, memory and the weight bytes planned and allocated. */
export function describeRpcDevice(d: RpcDeviceReport): string {
  const allocated = d.allocatedBytes === undefined ? '' : `, ${formatBytes(d.allocatedBytes)} allocated`;
  return `${d.endpoint}: ${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes)}; weights ${formatBytes(d.plannedBytes)} planned${allocated}`;
}

/**
 * The RPC backend library built by `node scripts/llama-tools.mjs --rpc` for this llama.cpp release: the rule of
 * that script's toolsDir() and rpcBackendPath() (test/engine/rpc.test.ts checks they agree).
 */
export function rpcBackendPath(release: string): string {
  const base = process.env.MOE_LENS_TOOLS_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'moe-lens');
  return path.join(base, `llama.cpp-${release}`, 'rpc-backend', 'libggml-rpc.so');
}

/** The library's path, or a one-line error saying how to build it. */
export function requireRpcBackend(release: string): string {
  const file = rpcBackendPath(release);
  if (!existsSync(file))
    throw new EngineError('bad-rpc', `the RPC backend is not built (${file}): run \`node scripts/llama-tools.mjs --rpc\` in the MoE Lens folder once`);
  return file;
}
