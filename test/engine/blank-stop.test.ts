// A whitespace-only stop string ("\n\n", the chat's end of a paragraph for a text-continuation model) ends an
// answer only once it has text: the demo model often opens its continuation with a blank line, and stopping there
// gave an empty answer (Summarize Selection on the demo, seen in e2e). Greedy on the committed demo model.
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers';

async function generate(prompt: string, stop: string[]) {
  const { code, stdout, stderr } = await runCli('generate', 'demo', '--prompt', prompt, '-n', '40', '--temperature', '0', '--threads', '1', '--json', ...stop.flatMap((s) => ['--stop', s]));
  expect(code, stderr).toBe(0);
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { phase?: string; text?: string; done?: boolean; stopReason?: string });
  const text = lines.filter((l) => l.phase === 'generated').map((l) => l.text).join('');
  return { text, stopReason: lines.find((l) => l.done)?.stopReason };
}

describe('a blank-line stop on an answer that opens with blank lines', () => {
  it('keeps generating past the leading blank line and stops at the first blank line after text', async () => {
    const free = await generate('The end.', []);
    // The premise: unstopped, the greedy answer opens with a blank line.
    expect(free.text.startsWith('\n\n')).toBe(true);
    const stopped = await generate('The end.', ['\n\n']);
    expect(stopped.stopReason).toBe('stop-string');
    expect(stopped.text.trim().length).toBeGreaterThan(0);
    // The answer's tokens are the free answer's up to the token that makes the first blank line after its text.
    const firstText = free.text.search(/\S/);
    const end = free.text.indexOf('\n\n', firstText);
    expect(end).toBeGreaterThan(firstText);
    expect(free.text.startsWith(stopped.text)).toBe(true);
    expect(stopped.text.length).toBeGreaterThanOrEqual(end + 2);
    expect(stopped.text.slice(end).trim()).toBe('');
  });

  it('a stop string with text still stops at once', async () => {
    const free = await generate('The end.', []);
    const word = free.text.trim().split(/\s+/)[0];
    const stopped = await generate('The end.', [word]);
    expect(stopped.stopReason).toBe('stop-string');
    // Only the blank lines before it and the token holding the stop string were generated.
    expect(stopped.text.trim()).toBe(word);
  });
});
