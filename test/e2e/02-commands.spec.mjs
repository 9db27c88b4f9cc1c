// Editor integration and commands: summarize a selection from the context menu, palette commands, model panel.
import assert from 'node:assert/strict';
import { answerOpenDialog, chatFrame, openChat, openFile, panelFrame, runCommand, sendPrompt, turns, turnText, until } from '../../scripts/e2e/driver.mjs';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { ROOT, extensionLogFile, sleep } from '../../scripts/e2e/lib.mjs';

/** The model panel's text (its frame is replaced on every re-render: looked up each time). */
async function panelText(page) {
  return (await panelFrame(page, 'main h1')).locator('body').innerText();
}

/** Download Model → "Enter a Hugging Face URI or URL…" → `url`. */
async function downloadFrom(page, url) {
  await runCommand(page, 'MoE Lens: Download Model');
  const pick = page.locator('.quick-input-widget');
  await pick.locator('.monaco-list-row', { hasText: 'Enter a Hugging Face URI or URL' }).click();
  await until(async () => /Hugging Face model URI/.test(await pick.innerText()), { timeout: 10_000, message: 'the URI input' });
  const input = pick.locator('input');
  await input.fill(url);
  await input.press('Enter');
}

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
      // New turns inherit the last token-view choice of an earlier test: read the message as text.
      const toggle = user.locator('[data-testid="turn-lens-toggle"]');
      if ((await toggle.getAttribute('aria-pressed')) === 'true') await toggle.click();
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
      const text = await panelText(page);
      assert.match(text, /^MoE Lens demo$/m);
      assert.match(text, /As loaded by the engine\./);
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
      assert.ok(await pick.locator('.monaco-list-row', { hasText: 'MoE Lens demo' }).isVisible());
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
      await page.locator('.statusbar-item', { hasText: 'MoE Lens demo' }).first().click();
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
      assert.match(await page.locator('.statusbar').innerText(), /MoE Lens demo/);
      await shot('new-chat');
    },
  },
  {
    // The panel's top-k control reloads the model: the panel opened before the next message shows the plan, and
    // once an answer has loaded the model, the model as loaded.
    name: 'model panel: opened before a load, it follows it',
    timeout: 150_000,
    async run({ page, shot }) {
      // The panel re-renders (a new frame) when the model it shows changes, e.g. a load of the previous test that
      // ends just after it opened: a frame that goes away under the click is found again.
      const selectTopK = (value) =>
        until(
          async () => {
            try {
              await (await panelFrame(page, '[data-testid="top-k"][data-ready="true"]')).locator('[data-testid="top-k"]').selectOption(value, { timeout: 5_000 });
              return true;
            } catch (error) {
              if (/detached/i.test(String(error))) return false;
              throw error;
            }
          },
          { timeout: 30_000, interval: 250, message: `top-k ${value} chosen in the model panel` },
        );
      await runCommand(page, 'MoE Lens: Show Model Info');
      await selectTopK('1');
      await until(
        async () => {
          await runCommand(page, 'MoE Lens: Show Model Info');
          return /not loaded yet/.test(await panelText(page));
        },
        { timeout: 20_000, interval: 500, message: 'the panel to show the plan after the top-k change' },
      );
      await shot('model-panel-planned');
      const frame = await openChat(page);
      const before = await turns(frame, 'assistant').count();
      await sendPrompt(frame, 'The configuration file');
      await until(async () => (await turns(frame, 'assistant').count()) > before && (await turnText(turns(frame, 'assistant').last())).trim().length > 0, { timeout: 60_000, message: 'an answer' });
      await until(async () => /As loaded by the engine\./.test(await panelText(page)), { timeout: 30_000, message: 'the open panel to show the loaded model' });
      assert.match(await panelText(page), /Experts per token\s+1 · load with/);
      await shot('model-panel-followed-load');
      await selectTopK('0');
    },
  },
  {
    name: 'Download Model: a refused server says so within seconds, with Retry; a served file is sized, confirmed, downloaded with percent and speed, and used',
    timeout: 150_000,
    async run({ page, env, shot }) {
      // Nothing listens on a port that was free a moment ago.
      const closed = http.createServer();
      await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = closed.address().port;
      await new Promise((resolve) => closed.close(resolve));
      await downloadFrom(page, `http://127.0.0.1:${port}/nothing.gguf`);
      const refused = () => page.locator('.notification-toast', { hasText: 'cannot download' }).first();
      await refused().waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await refused().innerText(), new RegExp(`127\\.0\\.0\\.1:${port} refused the connection`));
      const retry = refused().locator('.monaco-button', { hasText: 'Retry' });
      assert.ok(await retry.isVisible(), 'no Retry button');
      await until(async () => (await page.locator('.notification-toast', { hasText: 'checking' }).count()) === 0, { timeout: 10_000, message: 'the check to end' });
      await shot('download-refused');
      await retry.click();
      const failures = () => (fs.readFileSync(extensionLogFile(env.userDataDir), 'utf8').match(/Download of \S+nothing\.gguf failed: .* refused the connection/g) ?? []).length;
      await until(async () => failures() === 2, { timeout: 10_000, message: 'Retry to try again' });
      await runCommand(page, 'Notifications: Clear All Notifications');

      // A server here serves the demo's file slowly (1 MiB every 150 ms), so that the progress can be seen.
      const file = fs.readFileSync(path.join(ROOT, 'models', 'demo', 'demo-moe.gguf'));
      const server = http.createServer((req, res) => {
        res.writeHead(200, { 'content-length': file.length, connection: 'close' });
        if (req.method === 'HEAD') return res.end();
        let at = 0;
        const next = () => {
          if (at >= file.length) return res.end();
          res.write(file.subarray(at, (at += 2 ** 20)));
          setTimeout(next, 150);
        };
        next();
      });
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await downloadFrom(page, `http://127.0.0.1:${server.address().port}/served-demo.gguf`);
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.waitFor({ state: 'visible', timeout: 15_000 });
        const asked = await dialog.innerText();
        assert.match(asked, /Download served-demo\.gguf: 21\.9 MiB\?/);
        assert.match(asked, /free on that disk/);
        assert.match(asked, /Into .*models/);
        await shot('download-confirm');
        await dialog.locator('.monaco-button', { hasText: 'Download' }).click();
        const progress = page.locator('.notification-toast', { hasText: 'MoE Lens: Download Model' }).first();
        await until(async () => /served-demo\.gguf · \d+% · [\d.]+ MiB of 21\.9 MiB · [\d.]+ [KM]iB\/s/.test(await progress.innerText().catch(() => '')), { timeout: 20_000, interval: 100, message: 'percent and speed in the progress' });
        await shot('download-progress');
        await page.locator('.notification-toast', { hasText: 'downloaded served-demo.gguf; it is now the chat model' }).first().waitFor({ state: 'visible', timeout: 30_000 });
        // One name: the downloaded copy is called by its GGUF's name, as the demo is.
        await until(async () => /MoE Lens demo/.test(await page.locator('.statusbar').innerText()), { timeout: 10_000, message: 'the status bar name' });
        await shot('download-done');
      } finally {
        server.closeAllConnections();
        server.close();
      }
      // Back to the built-in demo for the tests after this one.
      await runCommand(page, 'MoE Lens: Select Model');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'MoE Lens demo' }).click();
      await runCommand(page, 'Notifications: Clear All Notifications');
    },
  },
];
