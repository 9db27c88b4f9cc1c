// MoE Lens in VS Code's own chat, end to end in code-server: a test-only extension (test/e2e/lm-client-extension)
// uses the model through vscode.lm as any extension would. It finds the model of vendor moe-lens; a greedy request
// (temperature 0, no repeat penalty, 24 tokens) streams the same text as `moe-lens generate --chat` with those
// settings on the same model; countTokens equals the tokenizer's count of the text; a cancelled request stops (the
// next one is not refused as busy); and the requests show up in the lens (Requests from VS Code Chat).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { panelFrame, runCommand, until } from '../../scripts/e2e/driver.mjs';
import { moeLensCli } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

const CALLER = 'moe-lens-test.lm-client';

/** The model the extension uses now (an earlier test may have selected another file than the demo). */
function configuredModel(env) {
  const settings = fs.existsSync(env.settingsFile) ? JSON.parse(fs.readFileSync(env.settingsFile, 'utf8')) : {};
  return settings['moeLens.modelPath'] || 'demo';
}

const cli = (args) => moeLensCli([...args, '--threads', process.env.MOE_LENS_E2E_THREADS ?? '1']);

export const tests = [
  {
    name: 'vscode.lm: the moe-lens model answers greedily like moe-lens generate --chat, counts tokens with its tokenizer, stops when cancelled, and its requests open in the lens',
    timeout: 240_000,
    async run({ page, env, log, shot }) {
      const resultFile = path.join(env.workspace, 'lm-client-result.json');
      fs.rmSync(resultFile, { force: true });
      await runCommand(page, 'MoE Lens e2e: Run vscode.lm client');
      await until(() => fs.existsSync(resultFile), { timeout: 180_000, message: 'lm-client-result.json written' });
      const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
      log(JSON.stringify({ models: result.models, greedy: result.greedy?.text, count: result.count, cancel: result.cancel, error: result.error }));
      assert.equal(result.error, undefined);
      assert.equal(result.models[0].vendor, 'moe-lens');

      const model = configuredModel(env);
      // The demo continues text: its chat template puts the user's text first and the model goes on from it.
      const cliText = (await cli(['generate', model, '--chat', '-p', result.greedy.prompt, '-t', '0', '-n', '24', '--repeat-penalty', '1'])).replace(/\n$/, '');
      assert.ok(result.greedy.text.length > 0, 'the greedy request streamed text');
      assert.equal(result.greedy.text, cliText, 'vscode.lm greedy text = moe-lens generate --chat greedy');

      // The tokenizer's count of the text: the prompt tokens of a plain generation, without the BOS it adds first.
      const lines = (await cli(['generate', model, '-p', result.count.text, '-n', '1', '--json'])).trim().split('\n').map((l) => JSON.parse(l));
      const prompt = lines.filter((l) => l.phase === 'prompt');
      const summary = lines[lines.length - 1];
      assert.equal(summary.promptTokens, prompt.length);
      assert.equal(result.count.tokens, prompt.length - 1, `countTokens ${result.count.tokens} vs ${prompt.length} prompt tokens with BOS "${prompt[0].text}"`);

      // Cancelled after its first part: the runner is free for the next request (a running one would refuse it).
      assert.ok(result.afterCancel.text.length > 0, 'the request after the cancelled one was answered');
      log(`cancelled request: its stream ended ${result.cancel.endedAfterMs} ms after cancel`);

      // The requests, in the lens's list: caller, time, tokens; the cancelled one stopped well before its 400 tokens.
      await runCommand(page, 'MoE Lens: Requests from VS Code Chat');
      const rows = page.locator('.quick-input-widget .monaco-list-row');
      await rows.first().waitFor({ state: 'visible', timeout: 15_000 });
      const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      log(texts.join(' | '));
      assert.ok(texts.filter((t) => t.includes(CALLER)).length >= 3, 'three requests from the test extension listed');
      const cancelled = texts.find((t) => t.includes('Once upon a time'));
      assert.ok(cancelled, 'the cancelled request is listed');
      const generated = Number(/(\d+) generated tokens/.exec(cancelled)?.[1] ?? NaN);
      assert.ok(generated < 400, `the cancelled request stopped early (${generated} of 400 tokens)`);
      await shot('vscode-chat-requests-list');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'The river' }).last().click();
      const lens = await panelFrame(page, `text=From VS Code chat: ${CALLER}`, { timeout: 30_000 });
      await until(async () => (await lens.locator('.lens-editor [data-testid="lens"]').count()) > 0, { timeout: 15_000, message: 'the lens beside the request' });
      const body = await lens.locator('body').innerText();
      assert.ok(body.includes(result.greedy.text.trim().slice(0, 20)), 'the lens tab shows the greedy answer');
      await shot('vscode-chat-request-lens');
    },
  },
];
