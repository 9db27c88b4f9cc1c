// Editor integration and commands: summarize a selection from the context menu, palette commands, model panel.
import assert from 'node:assert/strict';
import { chatFrame, panelFrame, runCommand, turns, turnText, until } from '../../scripts/e2e/driver.mjs';
import { sleep } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

async function openFile(page, name) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 15_000 });
  await input.press('Enter');
  await page.locator(`.tab[aria-label^="${name}"]`).first().waitFor({ state: 'visible', timeout: 15_000 });
}

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
    name: 'palette: Show Logs, Toggle Routing Capture, Select Model, New Chat',
    async run({ page, shot }) {
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
