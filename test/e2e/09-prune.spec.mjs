// MoE Lens: Prune Experts end to end in code-server on the demo model: budget and criterion from quick picks, the
// plan in a modal (experts per layer, the new size, the placement before → after), Write pruned model into the
// workspace, and the pruned file on disk with 6 of 8 experts per layer; Compare measures both on sample.ts into the
// "Pruned vs original" tab (numbers in both columns, the pruned file smaller, and with the original's routing atlas
// built first, the two atlases compared per layer) and leaves the chat answering with the
// configured 8-expert model; the tab's Load pruned model selects it, and the lens then names its experts by their
// original ids; Compare Pruned Model with Original (palette) on it, given the demo file, shows the same figures.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerOpenDialog, answerSaveDialog, openChat, panelFrame, runCommand, sendPrompt, turns, until } from '../../scripts/e2e/driver.mjs';

export const phase = 'dev';

const pick = async (page, text) => {
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
};

/** A new chat answering `prompt`, its lens opened at the first token: the chat frame. */
/**
 * The text picker: with a text editor active it offers it first and "Choose a text file…"; with none (a webview tab
 * is active) it goes straight to the Open dialog.
 */
async function chooseTextFile(page, file) {
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Choose a text file…' }).first();
  const dialog = page.locator('.quick-input-widget .quick-input-title', { hasText: 'Text to measure perplexity on' });
  const shown = async (l) => l.isVisible().catch(() => false);
  await until(async () => (await shown(row)) || (await shown(dialog)), { timeout: 15_000, message: 'the text picker or its Open dialog' });
  if (await shown(row)) await pick(page, 'Choose a text file…');
  await answerOpenDialog(page, file);
}

async function answerWithLens(page, prompt) {
  const frame = await openChat(page);
  await runCommand(page, 'MoE Lens: New Chat');
  await sendPrompt(frame, prompt);
  const answer = turns(frame, 'assistant').last();
  await until(async () => (await answer.locator('[data-testid="turn-stats"], [data-testid="turn-error"], [data-testid="turn-stopped"]').count()) > 0, { timeout: 120_000, message: `the answer to ${prompt}` });
  assert.equal(await answer.locator('[data-testid="turn-error"]').count(), 0, `the answer to ${prompt} failed`);
  if ((await answer.locator('[data-testid="turn-lens-toggle"]').getAttribute('aria-pressed')) !== 'true') await answer.locator('[data-testid="turn-lens-toggle"]').click();
  await answer.locator('[data-testid="token"]').first().click();
  await frame.locator('[data-testid="token-grid"] [data-testid="grid-cell"]').first().waitFor({ state: 'visible', timeout: 10_000 });
  return frame;
}

export const tests = [
  {
    name: 'prune: drop 2 of 8 experts per layer at random, see the plan, write it into the workspace, compare it with the original and load it',
    timeout: 300_000,
    async run({ page, env, log, shot }) {
      const out = path.join(env.workspace, 'pruned-demo.gguf');
      fs.rmSync(out, { force: true });
      // The original's routing atlas in this window: Compare then builds the pruned model's over the same corpus.
      await runCommand(page, 'MoE Lens: Routing Atlas');
      await pick(page, 'Built-in probe set');
      await panelFrame(page, '[data-testid="atlas-chart"]', { timeout: 150_000 });
      await runCommand(page, 'MoE Lens: Prune Experts');
      await pick(page, 'Drop 2 of 8 experts per layer');
      await pick(page, 'Random');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 120_000 });
      const text = (await dialog.innerText()).replace(/\u00a0/g, ' ');
      log(text.replace(/\s+/g, ' '));
      assert.match(text, /keep 6 of 8 experts per layer \(by Random\)/);
      assert.equal((text.match(/Layer \d: experts \d, \d go/g) ?? []).length, 6, 'two experts named per MoE layer');
      assert.match(text, /Size: 21\.9 MiB → 17\.9 MiB/);
      assert.match(text, /Placement: .+ → .+/);
      await shot('prune-plan');
      await dialog.locator('.monaco-button', { hasText: 'Write pruned model' }).click();
      await answerSaveDialog(page, out);
      const toast = page.locator('.notification-toast', { hasText: 'wrote pruned-demo.gguf' }).first();
      await toast.waitFor({ state: 'visible', timeout: 60_000 });
      assert.match((await toast.innerText()).replace(/\u00a0/g, ' '), /21\.9 MiB → 17\.9 MiB/);
      assert.equal(fs.statSync(out).size, 18_785_088);
      const header = fs.readFileSync(out).subarray(0, 1 << 20).toString('latin1');
      assert.ok(header.includes('moe_lens.original_experts.5'), 'provenance keys in the pruned header');
      assert.deepEqual(fs.readdirSync(env.workspace).filter((f) => f.includes('prune-tmp')), [], 'no temporary file left');
      await page.locator('.notification-toast', { hasText: 'writing pruned-demo.gguf' }).waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
      await shot('prune-written');
      assert.equal(await toast.locator('.monaco-button', { hasText: 'Load it' }).count(), 1, 'Load it offered');

      // Compare: both measured on sample.ts, side by side in an editor tab.
      // A random plan measured no text: Compare asks for one.
      await toast.locator('.monaco-button', { hasText: 'Compare' }).click();
      await chooseTextFile(page, path.join(env.workspace, 'sample.ts'));
      const panel = await panelFrame(page, '[data-testid="compare-table"]', { timeout: 120_000 });
      const row = async (testid) => panel.locator(`[data-testid="${testid}"] td`).allInnerTexts();
      for (const testid of ['compare-perplexity', 'compare-decode', 'compare-size']) {
        const [original, pruned, ratio] = await row(testid);
        log(`${testid}: ${original} | ${pruned} | ${ratio}`);
        assert.match(original, /^\d+(\.\d+)?( ± \d+\.\d+)?( tok\/s| MiB)?$/, `${testid}: the original's figure`);
        assert.match(pruned, /^\d+(\.\d+)?( ± \d+\.\d+)?( tok\/s| MiB)?$/, `${testid}: the pruned figure`);
        assert.match(ratio, /^\d+\.\d\d×$/, `${testid}: pruned ÷ original`);
      }
      const [sizeOriginal, sizePruned] = (await row('compare-size')).map(parseFloat);
      assert.ok(sizePruned < sizeOriginal, `pruned ${sizePruned} MiB < original ${sizeOriginal} MiB`);
      const firstRemoved = await panel.locator('[data-testid="compare-removed"] li').allInnerTexts();
      const firstPerplexity = await row('compare-perplexity');
      assert.equal(firstRemoved.length, 6, 'the experts removed, per MoE layer');
      assert.match(await panel.locator('[data-testid="compare-summary"]').innerText(), /pruned-demo\.gguf beside .*; perplexity on sample\.ts/);
      // The two atlases: per MoE layer the removed experts (original ids) and where their traffic went.
      assert.equal(await panel.locator('[data-testid="atlas-pruned-compare"] [data-testid="atlas-pruned-layer"]').count(), 6, 'the atlas comparison, a row per MoE layer');
      assert.match(await panel.locator('[data-testid="atlas-pruned-removed"]').first().innerText(), /\d/);
      await page.locator('.notification-toast', { hasText: 'comparing the pruned model' }).waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => {});
      await shot('prune-compare');

      // The chat still answers with the configured model (8 experts, not the pruned file Compare loaded).
      const settings = () => (fs.existsSync(env.settingsFile) ? fs.readFileSync(env.settingsFile, 'utf8') : '');
      assert.ok(!settings().includes('pruned-demo.gguf'), 'Compare does not select the pruned model');
      let frame = await answerWithLens(page, 'Once upon');
      assert.equal(await frame.locator('[data-testid="lens-pruned"]').isVisible(), false, 'the configured model is not the pruned one');
      const firstLayer = await frame.locator('[data-testid="token-grid"] [data-testid="grid-cell"]').evaluateAll((cs) => cs.filter((c) => c.dataset.layer === cs[0].dataset.layer).length);
      assert.equal(firstLayer, 8, 'the configured model routes over 8 experts');
      await shot('prune-compare-chat');

      // The tab's Load pruned model selects the pruned file.
      await (await panelFrame(page, '[data-testid="compare-load"]')).locator('[data-testid="compare-load"]').click();
      await until(() => settings().includes('pruned-demo.gguf'), { timeout: 30_000, message: 'moeLens.modelPath set to the pruned file' });
      await shot('prune-loaded');

      // The lens on the pruned model: the experts by their original ids (the routing stays in slots).
      frame = await answerWithLens(page, 'The cat');
      const pruned = frame.locator('[data-testid="lens-pruned"]');
      await pruned.waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await pruned.innerText(), /^Pruned from 8 experts per layer to 6: experts are named by their original ids/);
      const cells = await frame.locator('[data-testid="token-grid"] [data-testid="grid-cell"]').evaluateAll((cs) => cs.map((c) => ({ layer: Number(c.dataset.layer), slot: Number(c.dataset.expert), id: Number(c.dataset.original) })));
      const layers = [...new Set(cells.map((c) => c.layer))];
      assert.equal(layers.length, 6, 'six MoE layers in the grid');
      for (const l of layers) {
        const ids = cells.filter((c) => c.layer === l).map((c) => c.id);
        assert.equal(ids.length, 6, `layer ${l}: six slots`);
        assert.ok(ids.every((id, i) => id >= 0 && id < 8 && (i === 0 || id > ids[i - 1])), `layer ${l}: kept ids ${ids} ascending within 0–7`);
      }
      assert.ok(cells.some((c) => c.id !== c.slot), 'some slot is named by another original id');
      const chips = await frame.locator('[data-testid="token-path"] .chip').evaluateAll((cs) => cs.map((c) => ({ slot: c.dataset.expert, text: c.textContent, id: c.dataset.original })));
      assert.equal(chips.length, 6);
      for (const c of chips) assert.equal(c.text, c.id, 'a path chip shows its original id');
      await shot('prune-lens-original-ids');

      // The palette's Compare on the loaded pruned model: its original named by the user (checked by its sha256),
      // measured as after writing: the same figures of perplexity and the same experts removed.
      await runCommand(page, 'MoE Lens: Compare Pruned Model with Original');
      await answerOpenDialog(page, path.resolve('models/demo/demo-moe.gguf'));
      await chooseTextFile(page, path.join(env.workspace, 'sample.ts'));
      const again = await until(
        async () => {
          const f = await panelFrame(page, '[data-testid="compare-table"]', { timeout: 120_000 });
          return (await f.locator('[data-testid="compare-again"]').count()) === 0 ? f : undefined;
        },
        { timeout: 120_000, message: 'the palette comparison (without Write another…)' },
      );
      assert.deepEqual((await again.locator('[data-testid="compare-perplexity"] td').allInnerTexts()).slice(0, 2), firstPerplexity.slice(0, 2), 'the same perplexities as after writing');
      assert.deepEqual(await again.locator('[data-testid="compare-removed"] li').allInnerTexts(), firstRemoved, 'the same experts removed');
      assert.ok(settings().includes('pruned-demo.gguf'), 'the pruned model stays the configured one');
      await page.locator('.notification-toast', { hasText: 'comparing the pruned model' }).waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => {});
      await shot('prune-compare-palette');
    },
  },
];
