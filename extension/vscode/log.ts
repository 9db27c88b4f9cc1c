// The "MoE Lens" LogOutputChannel; engine logs go here too.
import type * as vscode from 'vscode';
import type { Log } from '../chat/events';

export function createLog(channel: vscode.LogOutputChannel): Log {
  return (level, message) => {
    try {
      channel[level](message); // the channel has one method per LogLevel
    } catch {
      // channel disposed
    }
  };
}
