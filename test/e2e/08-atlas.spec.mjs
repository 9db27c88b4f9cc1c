// The Routing Atlas end to end in code-server: MoE Lens: Routing Atlas on the built-in probe set opens an editor
// tab with the specialisation chart (one row per MoE layer of the demo model), the label × expert heat maps; a heat
// map cell opens its expert's card; an example's link opens its source file (the probe set's JSONL) at its line.
// Then the demo pruned by the CLI (experts 2 and 5 of every layer) is the configured model: its atlas over the same
// probe set names its experts by their original ids and opens with the comparison against the demo's atlas.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerOpenDialog, panelFrame, runCommand, until } from '../../scripts/e2e/driver.mjs';
import { moeLensCli } from '../../scripts/e2e/lib.mjs';

/** Runs MoE Lens: Routing Atlas on the built-in probe set; the panel's frame once its summary says `summary`. */
async function probeAtlas(page, summary) {
  await runCommand(page, 'MoE Lens: Routing Atlas');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Built-in probe set' });
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await row.click();
  let panel;
  await until(async () => {
    panel = await panelFrame(page, '[data-testid="atlas-chart"]', { timeout: 150_000 });
    return summary.test((await panel.locator('[data-testid="atlas-summary"]').innerText()).replace(/\s+/g, ' '));
  }, { timeout: 150_000, message: `the atlas summary to match ${summary}` });
  return panel;
}

export const phase = 'dev';

export const tests = [
  {
    name: 'atlas: the probe set atlas shows the chart, opens an expert card and jumps to an example source',
    timeout: 240_000,
    async run({ page, env, log, shot }) {
      const panel = await probeAtlas(page, /8 experts, top-2/);
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

      // The pruned demo as the model (the demo again after): its atlas compared with the demo's, in original ids.
      const pruned = path.join(env.workspace, 'atlas-pruned-demo.gguf');
      await moeLensCli(['prune', 'demo', '--remove', '*:2,5', '--out', pruned]);
      const models = page.locator('.quick-input-widget .monaco-list-row');
      try {
        await runCommand(page, 'MoE Lens: Select Model');
        await models.filter({ hasText: 'Browse for a .gguf file' }).click();
        await answerOpenDialog(page, pruned);
        const prunedPanel = await probeAtlas(page, /6 experts \(pruned from 8; named by their original ids\)/);
        const rows = prunedPanel.locator('[data-testid="atlas-pruned-compare"] [data-testid="atlas-pruned-layer"]');
        assert.equal(await rows.count(), 6, 'the comparison with the demo atlas, a row per MoE layer');
        for (const removed of await prunedPanel.locator('[data-testid="atlas-pruned-removed"]').allInnerTexts()) assert.match(removed, /^2 \([\d.]+% → 0\.0%\), 5 |^5 \([\d.]+% → 0\.0%\), 2 /);
        const heads = await prunedPanel.locator('[data-testid="atlas-label-heat"][data-layer="0"] th[scope="col"]').allInnerTexts();
        assert.deepEqual(heads.slice(1), ['0', '1', '3', '4', '6', '7'], 'heat-map columns by original id');
        await shot('atlas-pruned-compare');
      } finally {
        await runCommand(page, 'View: Close All Editors');
        await runCommand(page, 'MoE Lens: Select Model');
        await models.filter({ hasText: 'MoE Lens demo', hasNotText: 'atlas-pruned' }).first().click();
        await until(() => !fs.readFileSync(env.settingsFile, 'utf8').includes('atlas-pruned'), { timeout: 10_000, message: 'the demo selected again' });
        fs.rmSync(pruned, { force: true });
      }
    },
  },
];
