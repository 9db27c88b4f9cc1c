// `--rpc HOST:PORT[,…]` and `--allow-remote-rpc`: the flags of every command that loads a local model (main.ts's
// model options, eval), parsed with the setting's grammar (engine/rpc.ts).
import { InvalidArgumentError, type Command } from 'commander';
import { rpcServersSetting } from '../engine/rpc';
import type { LocalLoadOptions } from '../engine/types';

export interface RpcFlags {
  rpc?: string[];
  allowRemoteRpc?: boolean;
}

function parseRpcFlag(value: string): string[] {
  const parsed = rpcServersSetting(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return parsed.value.map((s) => s.text);
}

export function addRpcOptions(command: Command): Command {
  return command
    .option('--rpc <HOST:PORT,…>', 'put the layers on llama.cpp RPC servers (ggml-rpc-server)', parseRpcFlag)
    .option('--allow-remote-rpc', 'allow --rpc servers on other hosts (RPC is unauthenticated: whoever reaches the port can use it)');
}

/** The load options of the flags (none without --rpc). */
export function rpcLoadOptions(flags: RpcFlags): Pick<LocalLoadOptions, 'rpcServers' | 'allowRemoteRpc'> {
  return flags.rpc ? { rpcServers: flags.rpc, allowRemoteRpc: flags.allowRemoteRpc === true } : {};
}
