// `routing.export`: save the routing of some turns as JSONL or CSV.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { ChatTurn } from '../protocol';
import { toCsv, toJsonl } from '../routing/export';

export async function exportRouting(turns: readonly ChatTurn[], format: 'jsonl' | 'csv', turnIds: string[]): Promise<string | undefined> {
  const chosen = turnIds.length ? turns.filter((t) => turnIds.includes(t.id)) : turns;
  const blocks = chosen.flatMap((t) => t.routing);
  if (!blocks.length) {
    void vscode.window.showWarningMessage('MoE Lens: there is no routing to export (capture was off or nothing was generated).');
    return undefined;
  }
  const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(process.env.HOME ?? '/');
  const uri = await vscode.window.showSaveDialog({
    title: 'Export routing',
    defaultUri: vscode.Uri.joinPath(base, `moe-lens-routing.${format}`),
    filters: format === 'csv' ? { CSV: ['csv'] } : { 'JSON Lines': ['jsonl'] },
  });
  if (!uri) return undefined;
  const text = format === 'csv' ? toCsv(blocks) : toJsonl(blocks);
  if (uri.scheme === 'file') await fs.promises.writeFile(uri.fsPath, text, 'utf8');
  else await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  void vscode.window.showInformationMessage(`MoE Lens: routing of ${chosen.length} turn(s) saved to ${uri.fsPath}.`);
  return uri.fsPath;
}
