// Editor integration and commands: summarize a selection from the context menu, palette commands, model panel.
import assert from 'node:assert/strict';
import { answerOpenDialog, chatFrame, openFile, panelFrame, runCommand, turns, turnText, until } from '../../scripts/e2e/driver.mjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sleep } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

export const tests = [
  {
    name: 'summarize a selection through the editor context menu',
    timeout: 150_000,
    async run({ page, shot }) {
      await openFile(page, 'sample.ts');
      const editor = page.locator('.editor-instance .monaco-editor').first();
      await editor.click({ position: { x: 300, y: 120 } });
      await page.keyboard.press('Control+A');
      await sleep(300);
      await editor.click({ button: 'right', position: { x: 300, y: 120 } });
      const item = page.locator('.monaco-menu .action-item', { hasText: 'Summarize Selection' }).first();
      await item.waitFor({ state: 'visible', timeout: 10_000 });
      await shot('editor-context-menu');
      await item.click();
      const frame = chatFrame(page);
      await frame.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 30_000 });
      const user = turns(frame, 'user').filter({ hasText: 'Summarize' }).last();
      await user.waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await user.innerText(), /Summarize `?sample\.ts`? lines 1–15/);
      const assistant = turns(frame, 'assistant').last();
      await until(async () => (await turnText(assistant)).trim().length > 0, {
        timeout: 90_000,
        interval: 50,
        message: 'the summary to stream',
      });
      await shot('summary-streaming');
      // Done with it: stop (or let it end) so the next tests start idle.
      const stop = frame.locator('[data-testid="stop"]');
      if (await stop.isVisible()) await stop.click().catch(() => {});
      await until(async () => (await assistant.locator('[data-testid="turn-stopped"], [data-testid="turn-stats"]').count()) > 0, { timeout: 30_000, message: 'the summary to end' });
      assert.equal(await assistant.locator('[data-testid="turn-error"]').count(), 0, 'summary turn has an error');
    },
  },
  {
    name: 'palette: Show Model Info opens the model panel',
    async run({ page, shot }) {
      await runCommand(page, 'MoE Lens: Show Model Info');
      const panel = await panelFrame(page, 'main h1');
      const text = await panel.locator('body').innerText();
      assert.match(text, /MoE Lens demo/);
      assert.match(text, /trained on prose and code: it continues your text, it is not an assistant/);
      assert.match(text, /Experts\s+8/);
      assert.match(text, /Experts per token\s+2/);
      assert.match(text, /Active parameters per token/);
      assert.match(text, /Where the tensors live/);
      assert.match(text, /Backend\s+(CPU|CUDA|VULKAN|METAL)/);
      assert.match(text, /Memory per device/);
      await shot('model-panel');
      await page.keyboard.press('Escape');
    },
  },
  {
    name: 'palette: Show Logs, Toggle Routing Capture, Select Model (a bad file refused), Download Model list, status bar actions, New Chat',
    async run({ page, env, shot }) {
      await runCommand(page, 'MoE Lens: Show Logs');
      const panel = page.locator('.part.panel');
      await until(async () => /MoE Lens \S+ activated/.test((await panel.innerText().catch(() => '')).replace(/\u00a0/g, ' ')), { timeout: 15_000, message: 'the log output' });
      await shot('logs');

      await runCommand(page, 'MoE Lens: Toggle Routing Capture');
      await until(async () => /routing capture off/i.test(await page.locator('.statusbar').innerText()), { timeout: 10_000, message: 'capture off message' });
      await runCommand(page, 'MoE Lens: Toggle Routing Capture');
      await until(async () => /routing capture on/i.test(await page.locator('.statusbar').innerText()), { timeout: 10_000, message: 'capture on message' });

      await runCommand(page, 'MoE Lens: Select Model');
      const pick = page.locator('.quick-input-widget');
      await pick.locator('.monaco-list-row', { hasText: 'Browse for a .gguf file' }).waitFor({ state: 'visible', timeout: 10_000 });
      assert.ok(await pick.locator('.monaco-list-row', { hasText: 'Built-in demo model' }).isVisible());
      assert.ok(await pick.locator('.monaco-list-row', { hasText: 'Download from Hugging Face' }).isVisible());
      await shot('select-model');

      // A text file named .gguf is refused on selection with the engine's one-line error, and not remembered.
      const fake = path.join(env.workspace, 'not-a-model.gguf');
      fs.writeFileSync(fake, 'this is not a model\n');
      await pick.locator('.monaco-list-row', { hasText: 'Browse for a .gguf file' }).click();
      await answerOpenDialog(page, fake);
      const refused = page.locator('.notification-toast', { hasText: 'cannot use not-a-model.gguf' }).first();
      await refused.waitFor({ state: 'visible', timeout: 20_000 });
      assert.match(await refused.innerText(), /not-a-model\.gguf is not a GGUF model file/);
      await shot('select-model-refused');
      assert.ok(!/not-a-model/.test(fs.readFileSync(env.settingsFile, 'utf8')), 'the refused file became the model');
      await runCommand(page, 'MoE Lens: Select Model');
      await pick.locator('.monaco-list-row', { hasText: 'Browse for a .gguf file' }).waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(await pick.locator('.monaco-list-row', { hasText: 'not-a-model.gguf' }).count(), 0, 'the refused file is in Recent models');
      await page.keyboard.press('Escape');

      // Download Model: node-llama-cpp's recommended MoE models; offline, each says it cannot check its size.
      await runCommand(page, 'MoE Lens: Download Model');
      for (const name of ['gpt-oss 20B', 'Qwen 3.6 35B A3B', 'Gemma 4 26B A4B MoE'])
        await pick.locator('.monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 15_000 });
      assert.ok(await pick.locator('.monaco-list-row', { hasText: 'Enter a Hugging Face URI' }).isVisible());
      await until(async () => (await pick.locator('.monaco-list-row', { hasText: 'cannot check the size' }).count()) > 0, { timeout: 60_000, message: 'the offline size check to finish' });
      await shot('download-model-list');
      await page.keyboard.press('Escape');

      // The status bar item opens the model actions.
      await page.locator('.statusbar-item', { hasText: 'demo model' }).first().click();
      await pick.locator('.monaco-list-row', { hasText: 'Select Model…' }).waitFor({ state: 'visible', timeout: 10_000 });
      assert.ok(await pick.locator('.monaco-list-row', { hasText: 'Show Model Info' }).isVisible());
      await shot('status-bar-actions');
      await page.keyboard.press('Escape');

      await runCommand(page, 'MoE Lens: Run Long-Summary Eval');
      await pick.locator('.monaco-list-row', { hasText: 'Built-in long-summary suite' }).waitFor({ state: 'visible', timeout: 10_000 });
      await shot('run-eval-suite-pick');
      await page.keyboard.press('Escape');

      await runCommand(page, 'MoE Lens: New Chat');
      const frame = chatFrame(page);
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 15_000 });
      assert.equal(await turns(frame).count(), 0);
      // Status bar item: model and speed of the last answer.
      assert.match(await page.locator('.statusbar').innerText(), /demo model/);
      await shot('new-chat');
    },
  },
];
