// The one "which text?" picker of the palette commands that measure a model on a text (Perplexity, Expert Importance,
// Prune Experts, Compare): the selection (when there is one), the active file, or a text file the user chooses.
import * as vscode from 'vscode';
import path from 'node:path';

export interface PickedText {
  text: string;
  /** The file's name, for titles and messages. */
  source: string;
}

/** `what` completes the title: "MoE Lens: <what> on which text?". Undefined when the user cancels. */
export async function pickText(what: string): Promise<PickedText | undefined> {
  const editor = vscode.window.activeTextEditor;
  const choices: (vscode.QuickPickItem & { id: 'selection' | 'active' | 'file' })[] = [];
  if (editor) {
    const name = path.basename(editor.document.fileName);
    // With a selection both are offered, the selection first: a user may still mean the whole file.
    if (!editor.selection.isEmpty) choices.push({ id: 'selection', label: `Selection in ${name}` });
    choices.push({ id: 'active', label: `Active file: ${name}` });
  }
  choices.push({ id: 'file', label: 'Choose a text file…' });
  const choice = choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { title: `MoE Lens: ${what} on which text?`, ignoreFocusOut: true });
  if (!choice) return undefined;
  if (choice.id !== 'file' && editor) {
    const text = choice.id === 'selection' ? editor.document.getText(editor.selection) : editor.document.getText();
    return { text, source: path.basename(editor.document.fileName) };
  }
  const uri = (await vscode.window.showOpenDialog({ canSelectMany: false, title: `Text to ${what} on` }))?.[0];
  if (!uri) return undefined;
  return { text: Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'), source: path.basename(uri.fsPath) };
}
