// The routing export's toast: it says where the file went and its Open button opens that file. exportRouting against
// a fake of VS Code's window (save dialog, information message, text documents); the file is really written.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatTurn } from '../../../extension/protocol';
import { block } from '../../routing/fixtures';

const dir = mkdtempSync(path.join(tmpdir(), 'routing-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const calls: { toast?: { message: string; items: string[] }; opened: string[] } = { opened: [] };
/** What the fake toast answers: the button the user clicks, or undefined (dismissed). */
let click: string | undefined;

const fileUri = (p: string) => ({ scheme: 'file', fsPath: p, path: p });
vi.mock('vscode', () => ({
  Uri: { file: fileUri, joinPath: (base: { fsPath: string }, ...parts: string[]) => fileUri(path.join(base.fsPath, ...parts)) },
  workspace: { workspaceFolders: [{ uri: fileUri(dir) }], fs: { writeFile: async () => undefined } },
  window: {
    showSaveDialog: async () => fileUri(path.join(dir, 'out.jsonl')),
    showWarningMessage: async () => undefined,
    showInformationMessage: async (message: string, ...items: string[]) => {
      calls.toast = { message, items };
      return click;
    },
    showTextDocument: async (uri: { fsPath: string }) => {
      calls.opened.push(uri.fsPath);
    },
  },
}));

const { exportRouting } = await import('../../../extension/vscode/routing-export');

const turn: ChatTurn = { id: 't1', role: 'assistant', display: 'Hello', content: 'Hello', status: 'complete', routing: [block(0, 2)] };

beforeEach(() => {
  calls.toast = undefined;
  calls.opened = [];
});

describe('routing export toast', () => {
  it('offers Open, which opens the exported file', async () => {
    click = 'Open';
    const file = await exportRouting([turn], 'jsonl', []);
    expect(file).toBe(path.join(dir, 'out.jsonl'));
    expect(readFileSync(file!, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(calls.toast!.message).toContain(`saved to ${file}`);
    expect(calls.toast!.items).toEqual(['Open']);
    await vi.waitFor(() => expect(calls.opened).toEqual([file]));
  });

  it('opens nothing when the toast is dismissed', async () => {
    click = undefined;
    await exportRouting([turn], 'jsonl', []);
    expect(calls.toast!.items).toEqual(['Open']);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls.opened).toEqual([]);
  });
});
