// The one way a MoE Lens command is registered: a failure is logged with its stack and told to the user in words
// (messages.ts describeError), never left as an unhandled rejection.
import * as vscode from 'vscode';
import { describeError } from '../messages';
import type { Log } from '../chat/events';

/** `run` gets the arguments VS Code passes (a menu's resource URIs, a command link's values) as they come. */
export function registerCommand<A extends unknown[]>(id: string, run: (...args: A) => unknown, log: Log): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await run(...(args as A));
    } catch (error) {
      log('error', `${id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      void vscode.window.showErrorMessage(`MoE Lens: ${describeError(error)}`);
      return undefined;
    }
  });
}
