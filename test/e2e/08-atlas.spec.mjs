// The Routing Atlas end to end in code-server: MoE Lens: Routing Atlas on the built-in probe set opens an editor
// tab with the specialisation chart (one row per MoE layer of the demo model), the label × expert heat maps; a heat
// map cell opens its expert's card; an example's link opens its source file (the probe set's JSONL) at its line.
import assert from 'node:assert/strict';
import { panelFrame, runCommand, until } from '../../scripts/e2e/driver.mjs';

export const phase = 'dev';

export const tests = [
  {
    name: 'atlas: the probe set atlas shows the chart, opens an expert card and jumps to an example source',
    timeout: 240_000,
    async run({ page, log, shot }) {
      await runCommand(page, 'MoE Lens: Routing Atlas');
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Built-in probe set' });
      await row.waitFor({ state: 'visible', timeout: 10_000 });
      await row.click();
      const panel = await panelFrame(page, '[data-testid="atlas-chart"]', { timeout: 150_000 });
      const summary = (await panel.locator('[data-testid="atlas-summary"]').innerText()).replace(/\s+/g, ' ');
      log(summary);
      assert.match(summary, /the probe set: 24 items, [\d.]+ K tokens, labels prose, python, javascript, shell, markdown, numbers; 0 inputs skipped; 8 experts, top-2/);
      assert.equal(await panel.locator('[data-testid="atlas-layer-row"]').count(), 6, 'one chart row per MoE layer');
      const rows = await panel.locator('[data-testid="atlas-layer-row"] title').allTextContents();
      log(rows.join(' | '));
      assert.ok(rows.some((t) => /p = 0\.0[0-4]\d/.test(t)), 'some layer is above chance on the probe set');
      assert.equal(await panel.locator('[data-testid="atlas-label-heat"]').count(), 6);
      await shot('atlas');

      // A heat-map cell opens its expert's card.
      const cell = panel.locator('[data-testid="atlas-label-heat"][data-layer="2"] td[data-card="2-3"]').first();
      await cell.click();
      const card = panel.locator('#card-2-3');
      await until(async () => (await card.getAttribute('open')) !== null, { timeout: 5_000, message: 'the card to open' });
      assert.match(await card.locator('summary').innerText(), /Layer 2, expert 3: [\d.]+% of the load/);
      await shot('atlas-card');

      // An example's link opens the probe set's JSONL beside the atlas.
      const link = card.locator('a.src').first();
      const where = await link.innerText();
      log(`example source: ${where}`);
      assert.match(where, /^atlas-probes\.jsonl:\d+$/);
      await link.click();
      await page.locator('.tab[aria-label^="atlas-probes.jsonl"]').first().waitFor({ state: 'visible', timeout: 15_000 });
      await shot('atlas-source');
      await runCommand(page, 'View: Close All Editors');
    },
  },
];
