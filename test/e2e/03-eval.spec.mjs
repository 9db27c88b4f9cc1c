// "Run Long-Summary Eval" on the demo model: pick suite/model/variants, progress notification with "i of n done"
// and time left, cancel, the run listed in the webview's Evals tab. The suite runs the demo (trained for 512 tokens)
// at 8,192: the end-of-run notification, report.md and the run's tab say so. The demo's answers are degenerate:
// the detectors flag them.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openChat, panelFrame, runCommand, sideBarWidth, until } from '../../scripts/e2e/driver.mjs';
import { sleep } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

export const tests = [
  {
    name: 'run the built-in eval on the demo model, see progress, cancel, find the run in the Evals tab',
    timeout: 240_000,
    async run({ page, env, shot }) {
      await runCommand(page, 'MoE Lens: Run Long-Summary Eval');
      const pick = page.locator('.quick-input-widget');
      const title = pick.locator('.quick-input-title');
      await pick.locator('.monaco-list-row', { hasText: 'Built-in long-summary suite' }).waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.press('Enter');
      await until(async () => /models/.test(await title.innerText().catch(() => '')), { timeout: 10_000, message: 'the model pick' });
      await sleep(300);
      await page.keyboard.press('Enter'); // the demo model is pre-selected
      await until(async () => /variants/.test(await title.innerText().catch(() => '')), { timeout: 10_000, message: 'the variant pick' });
      // The wizard's steps share one open prompt: "3/3" in its title bar, and Back returns to the models.
      assert.match(await pick.innerText(), /3\s*\/\s*3/);
      await pick.locator('.quick-input-back, [aria-label="Back"], .codicon-quick-input-back').first().click();
      await until(async () => /models/.test(await title.innerText().catch(() => '')), { timeout: 10_000, message: 'the model pick after Back' });
      await sleep(300);
      await page.keyboard.press('Enter');
      await until(async () => /variants/.test(await title.innerText().catch(() => '')), { timeout: 10_000, message: 'the variant pick again' });
      await sleep(300);
      await page.keyboard.press('Enter'); // both variants
      const toast = page.locator('.notification-toast', { hasText: 'MoE Lens eval' }).first();
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      // Progress: "i of n done · model · variant · item · about X left" once a sample finished (the Evals tab says the same).
      const text = await until(
        async () => {
          const t = (await toast.innerText().catch(() => '')).replace(/\u00a0/g, ' ');
          return /[1-9]\d* of \d+ done.*left/.test(t) ? t : '';
        },
        { timeout: 180_000, interval: 250, message: 'progress past the first item with a time estimate' },
      );
      assert.match(text, /\d+ of 10 done/);
      await shot('eval-progress');
      await toast.hover();
      await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
      const done = page.locator('.notification-toast', { hasText: /eval (cancelled|finished)/ }).first();
      await done.waitFor({ state: 'visible', timeout: 60_000 });
      const beyond = /runs at a context of 8192 tokens, more than the 512 it was trained for/;
      const doneText = (await done.innerText()).replace(/\u00a0/g, ' ');
      assert.match(doneText, /— \d+ samples? in /, 'the count in words ("1 sample", "2 samples")');
      assert.doesNotMatch(doneText, /\(s\)/);
      assert.match(doneText, beyond, 'the notification says the context is beyond the training');
      await sleep(600); // the toast slides in
      await shot('eval-done-warning');
      const runsDir = path.join(env.workspace, 'eval-runs');
      const runs = fs.readdirSync(runsDir);
      assert.equal(runs.length, 1, `runs: ${runs.join(', ')}`);
      const report = fs.readFileSync(path.join(runsDir, runs[0], 'report.md'), 'utf8');
      assert.match(report, /> \*\*Warning:\*\* .*runs at a context of 8192 tokens/, 'report.md says it');
      // The Evals tab lists the run (its view asks the host with a request answered by id).
      const frame = await openChat(page);
      await frame.locator('[data-testid="view-evals"]').click();
      await until(async () => (await frame.locator('.evals-root').innerText().catch(() => '')).includes(runs[0]), { timeout: 20_000, message: 'the run in the Evals tab' });
      await shot('evals-tab');
      // The run itself is in the evals editor tab (Run Eval opened it), with room for its tables and charts.
      const tab = await panelFrame(page, '.evals-root');
      await until(async () => (await tab.locator('.evals-root').innerText().catch(() => '')).includes('Per model × variant'), { timeout: 30_000, message: 'the run in the evals editor tab' });
      assert.ok((await tab.locator('.evals-groups th').count()) >= 10, 'the full per-group table');
      assert.match(await tab.locator('.evals-run .evals-warning').innerText(), beyond, 'the run tab says it above the scores');
      // The histogram's bins are labelled 0, 10, … 100; the demo's degenerate answers are flagged.
      assert.equal(await tab.locator('.evals-chart .evals-bin-edge').count(), 11);
      assert.ok((await tab.locator('table.evals-samples tr.evals-flagged').count()) >= 1, 'no flagged sample');
      await shot('evals-editor-tab');
      // A sample's detail opens below the table: it is brought into view.
      await tab.locator('table.evals-samples tbody tr').first().click();
      const detail = tab.locator('.evals-sample');
      await detail.waitFor({ state: 'visible', timeout: 10_000 });
      const height = page.viewportSize()?.height ?? 900;
      await until(async () => ((await detail.boundingBox())?.y ?? height) < height / 2, { timeout: 5_000, message: 'the sample detail in view' });
      assert.ok((await detail.locator('.evals-failures li').count()) >= 1, 'the flagged sample shows its evidence');
      await shot('evals-sample-detail');
      // From the sidebar's compact list, a run opens in the editor tab too.
      await frame.locator('.evals-runs .evals-link').first().click();
      await until(async () => (await tab.locator('.evals-root h2, .evals-root h3').allInnerTexts()).some((t) => t.includes('Samples')), { timeout: 20_000, message: 'the run opened from the sidebar' });
      assert.equal(await frame.locator('.evals-groups').count(), 0, 'the sidebar showed the run instead of the editor tab');
      // The compact list at a 320 px side bar.
      const before = (await page.locator('.part.sidebar').boundingBox())?.width;
      if (await sideBarWidth(page, 320)) {
        await shot('evals-tab-320');
        if (before) await sideBarWidth(page, before);
      }
      await runCommand(page, 'View: Close All Editors');
      await frame.locator('[data-testid="view-chat"]').click();
    },
  },
];
