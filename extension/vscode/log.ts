// The "MoE Lens" LogOutputChannel; engine logs go here too.
import * as vscode from 'vscode';
import type { Log, LogLevel } from '../chat/events';

export function createLog(channel: vscode.LogOutputChannel): Log {
  return (level: LogLevel, message: string) => {
    try {
      switch (level) {
        case 'debug':
          channel.debug(message);
          break;
        case 'info':
          channel.info(message);
          break;
        case 'warn':
          channel.warn(message);
          break;
        case 'error':
          channel.error(message);
          break;
      }
    } catch {
      // channel disposed
    }
  };
}
