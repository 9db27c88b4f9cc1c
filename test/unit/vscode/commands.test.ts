// The one way commands are registered: what a command throws is logged with its id and told to the user in the
// words of messages.ts; arguments reach the command as VS Code passes them.
import { describe, expect, it, vi } from 'vitest';
import { EngineError } from '../../../extension/engine/errors';

const registered = new Map<string, (...args: unknown[]) => Promise<unknown>>();
const shown: string[] = [];
vi.mock('vscode', () => ({
  commands: { registerCommand: (id: string, fn: (...args: unknown[]) => Promise<unknown>) => (registered.set(id, fn), { dispose() {} }) },
  window: { showErrorMessage: (m: string) => (shown.push(m), Promise.resolve(undefined)) },
}));

describe('registerCommand', () => {
  it('passes the arguments, returns the result; a failure is logged and shown in words, never thrown', async () => {
    const { registerCommand } = await import('../../../extension/vscode/commands');
    const logged: string[] = [];
    registerCommand('moeLens.ok', (a: number, b: string) => `${a}${b}`, (_level, m) => logged.push(m));
    registerCommand('moeLens.fails', () => {
      throw new EngineError('file-not-found', 'no such file: /m.gguf');
    }, (_level, m) => logged.push(m));
    expect(await registered.get('moeLens.ok')!(1, 'x')).toBe('1x');
    expect(await registered.get('moeLens.fails')!()).toBeUndefined();
    expect(shown).toEqual(['MoE Lens: no such file: /m.gguf']);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^moeLens\.fails: EngineError: no such file/);
  });
});
