// Evals wiring placeholder: replaced once extension/evals exposes its runner API to the host.
import type * as vscode from 'vscode';
import type { Log } from '../chat/events';
import type { EvalsWiring } from './host';

export function createEvalsWiring(_context: vscode.ExtensionContext, _log: Log): EvalsWiring | undefined {
  return undefined;
}
