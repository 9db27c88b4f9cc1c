// MoE Lens: Prune Experts end to end in code-server on the demo model: budget and criterion from quick picks, the
// plan in a modal (experts per layer, the new size, the placement before → after), Write pruned model into the
// workspace, and the pruned file on disk with 6 of 8 experts per layer; Load it selects it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerSaveDialog, runCommand, until } from '../../scripts/e2e/driver.mjs';

export const phase = 'dev';

const pick = async (page, text) => {
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
};

export const tests = [
  {
    name: 'prune: drop 2 of 8 experts per layer at random, see the plan, write it into the workspace and load it',
    timeout: 180_000,
    async run({ page, env, log, shot }) {
      const out = path.join(env.workspace, 'pruned-demo.gguf');
      fs.rmSync(out, { force: true });
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
      await toast.locator('.monaco-button', { hasText: 'Load it' }).click();
      const settings = () => (fs.existsSync(env.settingsFile) ? fs.readFileSync(env.settingsFile, 'utf8') : '');
      await until(() => settings().includes('pruned-demo.gguf'), { timeout: 30_000, message: 'moeLens.modelPath set to the pruned file' });
      await shot('prune-loaded');
    },
  },
];
