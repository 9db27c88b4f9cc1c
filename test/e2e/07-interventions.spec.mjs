// Expert interventions end to end in code-server: an answer of the demo model in the chat, its first token's
// grid in the lens, right-click on that token's top-1 expert of the first layer → "Regenerate without expert E in
// all layers" → the comparison shows both answers side by side, where they part, and the routing of both: the
// regenerated answer's heat map has no token routed to the ablated expert in any layer. Then Expert Importance from
// the palette on the active file (a layer × expert heat map in an editor tab), and the Model panel's top-k control
// (the next answer routes each token to one expert per layer).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { chatFrame, openChat, panelFrame, runCommand, sendPrompt, turns, until } from '../../scripts/e2e/driver.mjs';

export const phase = 'dev';

const PROMPT = 'The history of the city begins';

export const tests = [
  {
    name: 'interventions: regenerate without an expert from the lens grid and see both answers',
    timeout: 240_000,
    async run({ page, log, shot }) {
      const frame = await openChat(page);
      await runCommand(page, 'MoE Lens: New Chat');
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 15_000 });
      await sendPrompt(frame, PROMPT);
      const assistant = turns(frame, 'assistant').last();
      await assistant.waitFor({ state: 'visible', timeout: 10_000 });
      await until(async () => (await assistant.locator('[data-testid="turn-stats"], [data-testid="turn-error"], [data-testid="turn-stopped"]').count()) > 0, {
        timeout: 150_000,
        message: 'the answer to complete',
      });
      assert.equal(await assistant.getAttribute('data-status'), 'complete', 'the answer did not complete');

      // The lens on the answer (its token view: an earlier test may have left token views on), its first token selected.
      if ((await assistant.locator('[data-testid="turn-lens-toggle"]').getAttribute('aria-pressed')) !== 'true') await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
      const answerTokens = await assistant.locator('[data-testid="token"]').evaluateAll((spans) => spans.map((s) => (s.textContent === '∅' ? '' : s.textContent)));
      await assistant.locator('[data-testid="token"]').first().click();
      const chosen = frame.locator('[data-testid="token-grid"] [data-testid="grid-cell"][data-layer="0"][data-rank="0"]');
      await chosen.waitFor({ state: 'visible', timeout: 10_000 });
      const expert = Number(await chosen.getAttribute('data-expert'));
      log(`ablating expert ${expert} (top-1 of the first token in layer 0)`);

      // Its context menu → regenerate without it in all layers.
      await chosen.click({ button: 'right' });
      const menu = frame.locator('[data-testid="expert-menu"]');
      await menu.waitFor({ state: 'visible', timeout: 5000 });
      await shot('interventions-menu');
      assert.equal((await frame.locator('[data-testid="expert-action-ablate-all"]').innerText()).trim(), `Regenerate without expert ${expert} in all layers`);
      await frame.locator('[data-testid="expert-action-ablate-all"]').click();

      const whatIf = frame.locator('[data-testid="what-if"]');
      await whatIf.waitFor({ state: 'visible', timeout: 10_000 });
      await until(async () => (await whatIf.getAttribute('data-status')) !== 'running', { timeout: 150_000, message: 'the regenerated answer' });
      const status = await whatIf.getAttribute('data-status');
      assert.equal(status, 'complete', `the regeneration failed: ${await whatIf.innerText()}`);

      // Both answers side by side; the original is the chat's answer.
      const spansOf = (testid) => frame.locator(`[data-testid="${testid}"] .what-if-text span`).evaluateAll((spans) => spans.map((s) => s.textContent));
      assert.deepEqual(await spansOf('what-if-original'), answerTokens, "the comparison's original is not the chat's answer");
      const variant = await spansOf('what-if-variant');
      assert.ok(variant.join('').length > 0, 'the regenerated answer is empty');
      const first = await frame.locator('[data-testid="what-if-first"]').innerText();
      log(`first difference: ${first}`);
      assert.match(first, /The answers part at token \d+|The answers are identical/);

      // Routing of both; the regenerated answer never used the ablated expert.
      const counts = await frame
        .locator(`[data-testid="what-if-heatmap-variant"] [data-testid="heat-cell"][data-expert="${expert}"]`)
        .evaluateAll((cells) => cells.map((c) => Number(c.dataset.count)));
      assert.ok(counts.length >= 6, `the regenerated answer's heat map has ${counts.length} rows for expert ${expert}`);
      assert.deepEqual(counts, counts.map(() => 0), `the regenerated answer routed tokens to the ablated expert ${expert}: ${counts}`);
      const originalCounts = await frame
        .locator(`[data-testid="what-if-heatmap-original"] [data-testid="heat-cell"][data-expert="${expert}"]`)
        .evaluateAll((cells) => cells.map((c) => Number(c.dataset.count)));
      assert.ok(originalCounts.some((n) => n > 0), 'the original answer did not use the expert either: the check proves nothing');
      await whatIf.scrollIntoViewIfNeeded();
      await shot('interventions-what-if');
      // The conversation itself is unchanged.
      assert.equal(await turns(chatFrame(page), 'assistant').count(), 1);
    },
  },
  {
    name: 'interventions: Expert Importance from the palette on the active file shows a layer × expert heat map',
    timeout: 180_000,
    async run({ page, log, shot }) {
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('sample.ts');
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'sample.ts' }).first().waitFor({ state: 'visible', timeout: 10_000 });
      await input.press('Enter');
      await page.locator('.tab.active', { hasText: 'sample.ts' }).waitFor({ state: 'visible', timeout: 10_000 });
      // The file may still be open with the selection an earlier test made; the whole file is scored without one.
      await page.keyboard.press('Control+Home');
      await runCommand(page, 'MoE Lens: Expert Importance (Δ Perplexity per Expert)');
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Active file: sample.ts' });
      await row.waitFor({ state: 'visible', timeout: 10_000 });
      await row.click();
      const panel = await panelFrame(page, '[data-testid="importance-delta"]', { timeout: 150_000 });
      const summary = await panel.locator('[data-testid="importance-summary"]').innerText();
      log(summary.replace(/\s+/g, ' '));
      assert.match(summary, /sample\.ts: baseline perplexity \d+\.\d{4}/);
      const cells = await panel.locator('[data-testid="importance-delta"] td').evaluateAll((tds) => tds.map((td) => ({ layer: td.dataset.layer, expert: td.dataset.expert, value: Number(td.dataset.value) })));
      assert.equal(cells.length, 6 * 8, 'one cell per layer and expert of the demo model');
      assert.ok(cells.every((c) => Number.isFinite(c.value)), 'every cell has a number');
      assert.ok(cells.some((c) => c.value !== 0), 'ablating some expert changed the perplexity');
      assert.equal(await panel.locator('[data-testid="importance-reap"] td').count(), 6 * 8);
      await shot('interventions-importance');
      await runCommand(page, 'View: Close All Editors');
    },
  },
  {
    name: "interventions: the Model panel's top-k control reloads the model with one expert per token",
    timeout: 240_000,
    async run({ page, env, shot }) {
      await runCommand(page, 'MoE Lens: Show Model Info');
      // The panel's script marks the control once it listens (a module script runs after the page is shown).
      let panel = await panelFrame(page, '[data-testid="top-k"][data-ready="true"]');
      await panel.locator('[data-testid="top-k"]').selectOption('1');
      await until(() => /"moeLens\.expertsPerToken": 1/.test(fs.readFileSync(env.settingsFile, 'utf8')), { timeout: 15_000, message: 'moeLens.expertsPerToken written' });
      await runCommand(page, 'View: Close All Editors');
      const frame = await openChat(page);
      await runCommand(page, 'MoE Lens: New Chat');
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 15_000 });
      await sendPrompt(frame, PROMPT);
      const assistant = turns(frame, 'assistant').last();
      await until(async () => (await assistant.getAttribute('data-status')) === 'complete', { timeout: 150_000, message: 'the top-1 answer' });
      if ((await assistant.locator('[data-testid="turn-lens-toggle"]').getAttribute('aria-pressed')) !== 'true') await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
      await assistant.locator('[data-testid="token"]').first().click();
      const chosen = frame.locator('[data-testid="token-grid"] [data-testid="grid-cell"][data-rank]');
      await until(async () => (await chosen.count()) > 0, { timeout: 10_000, message: 'the grid' });
      const ranks = await chosen.evaluateAll((cells) => cells.map((c) => `${c.dataset.layer}:${c.dataset.rank}:${c.dataset.weight}`));
      assert.equal(ranks.length, 6, `one chosen expert per layer at top-1, got ${ranks}`);
      assert.ok(ranks.every((r) => r.endsWith(':0:1')), `top-1 weights are 1 (renormalised over one expert): ${ranks}`);
      await shot('interventions-top1-grid');
      // Back to the model's own top-k.
      await runCommand(page, 'MoE Lens: Show Model Info');
      panel = await panelFrame(page, '[data-testid="top-k"][data-ready="true"]');
      await panel.locator('[data-testid="top-k"]').selectOption('0');
      await until(() => /"moeLens\.expertsPerToken": 0/.test(fs.readFileSync(env.settingsFile, 'utf8')), { timeout: 15_000, message: 'moeLens.expertsPerToken reset' });
      await runCommand(page, 'View: Close All Editors');
    },
  },
];
