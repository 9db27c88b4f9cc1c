// Expert interventions end to end in code-server: an answer of the demo model in the chat, its first token's
// grid in the lens, right-click on that token's top-1 expert of the first layer → "Regenerate without expert E in
// all layers" → the comparison shows both answers side by side, where they part, and the routing of both: the
// regenerated answer's heat map has no token routed to the ablated expert in any layer.
import assert from 'node:assert/strict';
import { chatFrame, openChat, runCommand, sendPrompt, turns, until } from '../../scripts/e2e/driver.mjs';

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
      const originalText = (await assistant.locator('[data-testid="turn-text"]').innerText()).trim();

      // The lens on the answer, its first token selected.
      if ((await assistant.locator('[data-testid="turn-lens-toggle"]').getAttribute('aria-pressed')) !== 'true') await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
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
      const original = (await frame.locator('[data-testid="what-if-original"] .what-if-text').innerText()).trim();
      const variant = (await frame.locator('[data-testid="what-if-variant"] .what-if-text').innerText()).trim();
      assert.equal(original.replace(/\s+/g, ' '), originalText.replace(/\s+/g, ' '), 'the comparison\'s original is not the chat\'s answer');
      assert.ok(variant.length > 0, 'the regenerated answer is empty');
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
];
