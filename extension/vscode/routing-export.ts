// `routing.export`: save the routing of some turns as JSONL or CSV, tokens numbered as the lens numbers them
// (message from 1, token within it from 1), layers by their model ids.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { ChatTurn } from '../protocol';
import { messagesToCsv, messagesToJsonl, type MessageRouting } from '../routing/export';

export async function exportRouting(turns: readonly ChatTurn[], format: 'jsonl' | 'csv', turnIds: string[], layerIds?: readonly number[]): Promise<string | undefined> {
  const chosen = turnIds.length ? turns.filter((t) => turnIds.includes(t.id)) : turns;
  const messages: MessageRouting[] = chosen.map((t) => ({ message: turns.indexOf(t) + 1, blocks: t.routing }));
  if (!messages.some((m) => m.blocks.length)) {
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
  const text = format === 'csv' ? messagesToCsv(messages, { layerIds }) : messagesToJsonl(messages);
  if (uri.scheme === 'file') await fs.promises.writeFile(uri.fsPath, text, 'utf8');
  else await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
  // Not awaited: the toast's Open opens the file whenever it is clicked.
  void vscode.window.showInformationMessage(`MoE Lens: routing of ${chosen.length} turn(s) saved to ${uri.fsPath}.`, 'Open').then((action) => {
    if (action === 'Open') void vscode.window.showTextDocument(uri);
  });
  return uri.fsPath;
}
