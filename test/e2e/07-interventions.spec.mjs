// Expert interventions end to end in code-server: an answer of the demo model in the chat, its first token's
// grid in the lens, right-click on that token's top-1 expert of the first layer → "Regenerate without expert E in
// all layers" → the lens's editor tab shows both answers side by side (token i beside token i), where they part,
// the routing of both and their difference: the regenerated answer's heat map has no token routed to the ablated
// expert in any layer, the difference map is regenerated − original cell by cell. The sidebar keeps a compact
// comparison. Keep this answer puts the regenerated answer in the conversation. Then Expert Importance from
// the palette on the active file (a layer × expert heat map in an editor tab, each change with its interval, grey
// within noise; on a longer text the notification's "Again with 16 chunks"); from that view, Prune by this map: drop
// 25 % by Δ perplexity marks the lowest two experts of each layer in the Δ map, Prune by this… opens Prune Experts'
// plan with the same experts, size and placement, and writes a smaller GGUF into the workspace; and the Model panel's
// top-k control (the next answer routes each token to one expert per layer).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerSaveDialog, chatFrame, openChat, openFile, panelFrame, runCommand, sendPrompt, sideBarWidth, turns, until } from '../../scripts/e2e/driver.mjs';
import { OUT_DIR } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

const PROMPT = 'The history of the city begins';

// About 400 tokens of technical prose (what the demo was trained on) for Expert Importance's second run.
const NOTES = `# Caching in the build pipeline

The build pipeline keeps a cache of compiled modules keyed by the hash of their sources and of the compiler flags.
When a developer changes one file, only the modules that import it are rebuilt; the rest are copied from the cache.
The cache lives on the local disk and is shared by every branch of the repository, so switching branches is cheap.

A cache entry is written only after the compiler succeeds, and it is written to a temporary file that is renamed
into place, so an interrupted build never leaves a partial entry behind. Entries that have not been read for thirty
days are removed by a background task that runs at most once a day.

## Remote cache

Continuous integration uploads its entries to a remote cache. A developer machine downloads an entry when the local
cache misses and the remote one has it; the download is verified against the hash before it is used. The remote
cache is read-only for developers, which keeps a broken local toolchain from poisoning the builds of others.

## Measuring the effect

The build prints how many modules it compiled, how many it reused, and how long each step took. On a clean checkout
the first build takes about six minutes; a rebuild after a one-line change takes under twenty seconds.
`;

/** Runs Expert Importance on the text the quick pick row names; the panel's frame once its heat map is there. */
async function importanceOn(page, rowText) {
  await runCommand(page, 'MoE Lens: Expert Importance (Δ Perplexity per Expert)');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: rowText });
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await row.click();
  return panelFrame(page, '[data-testid="importance-delta"]', { timeout: 150_000 });
}

const deltaCells = (panel) =>
  panel.locator('[data-testid="importance-delta"] td').evaluateAll((tds) =>
    tds.map((td) => ({ cls: td.className, value: Number(td.dataset.value), low: Number(td.dataset.low), high: Number(td.dataset.high), significant: td.dataset.significant === 'true' })),
  );

/** (layer:expert) of the cells of one importance map marked as going (struck through by the page's CSS). */
const struck = (panel, map) =>
  panel
    .locator(`[data-testid="importance-${map}"] td`)
    .evaluateAll((tds) => tds.filter((td) => getComputedStyle(td).textDecorationLine.includes('line-through')).map((td) => `${td.dataset.layer}:${td.dataset.expert}`));

/** Prune by this map from the importance panel (its Δ cells as deltaCells reads them, 6 layers × 8 experts). */
async function pruneByThisMap(page, panel, cells, env, { log, shot }) {
  await panel.locator('main[data-ready="true"]').waitFor({ state: 'attached', timeout: 10_000 });
  await panel.locator('input[name="prune-drop"][value="4"]').check();
  await panel.locator('input[name="prune-by"][value="reap"]').check();
  assert.equal((await struck(panel, 'reap')).length, 6 * 4, 'drop 50 % by REAP marks four experts per layer in the REAP map');
  assert.deepEqual(await struck(panel, 'delta'), [], 'nothing is marked in a map not followed');
  await panel.locator('input[name="prune-drop"][value="2"]').check();
  await panel.locator('input[name="prune-by"][value="delta"]').check();
  // The two lowest changes of each layer go (ties: the lower id), and only in the Δ map.
  const lowest = [0, 1, 2, 3, 4, 5].map((layer) =>
    [0, 1, 2, 3, 4, 5, 6, 7].sort((a, b) => cells[layer * 8 + a].value - cells[layer * 8 + b].value || a - b).slice(0, 2).sort((a, b) => a - b),
  );
  assert.deepEqual(await struck(panel, 'delta'), lowest.flatMap((experts, layer) => experts.map((e) => `${layer}:${e}`)));
  assert.deepEqual([...(await struck(panel, 'reap')), ...(await struck(panel, 'share'))], [], 'the other maps are not marked');
  const plan = panel.locator('[data-plan="delta-2"]');
  const items = await plan.locator('li').allInnerTexts();
  assert.deepEqual(items, lowest.map((experts, layer) => `Layer ${layer}: experts ${experts.join(', ')} go`));
  const summary = await plan.locator('p').first().innerText();
  log(summary);
  const placement = /Placement: (.+)\.$/.exec(summary)?.[1];
  assert.ok(placement && /Size: 21\.9 MiB → 17\.9 MiB/.test(summary), summary);
  await page.setViewportSize({ width: 1400, height: 900 });
  await shot('interventions-importance-prune');

  // The view in a 320 px editor group: nothing wider than the page but the maps, which scroll in their own box.
  const sidebar = (await page.locator('.part.sidebar').boundingBox()).width;
  const editor = (await page.locator('.part.editor').boundingBox()).width;
  assert.ok(await sideBarWidth(page, sidebar + editor - 320), 'the side bar sash was not found');
  try {
    const wide = await panel.locator('body').evaluate((b) => b.scrollWidth - b.clientWidth);
    assert.ok(wide <= 0, `the importance view scrolls sideways by ${wide}px in a narrow editor group`);
    await page.locator('.part.editor').screenshot({ path: path.join(OUT_DIR, phase, 'interventions-importance-prune-320.png') });
    await panel.locator('[data-testid="importance-delta"]').scrollIntoViewIfNeeded();
    await page.locator('.part.editor').screenshot({ path: path.join(OUT_DIR, phase, 'interventions-importance-prune-320-map.png') });
    await panel.locator('main').evaluate(() => window.scrollTo(0, 0));
  } finally {
    await sideBarWidth(page, sidebar);
  }

  // Prune by this…: Prune Experts' plan for the same experts, titled by the map; written into the workspace.
  const out = path.join(env.workspace, 'importance-pruned.gguf');
  fs.rmSync(out, { force: true });
  await panel.locator('[data-testid="importance-prune-button"]').click();
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: 60_000 });
  const text = (await dialog.innerText()).replace(/\u00a0/g, ' ');
  log(text.replace(/\s+/g, ' '));
  assert.match(text, /keep 6 of 8 experts per layer \(by Δ perplexity on sample\.ts\)/);
  assert.deepEqual(text.match(/Layer \d: experts \d, \d go/g), items, 'the plan drops the experts the view marked');
  assert.ok(text.includes(`Placement: ${placement}`), `the plan's placement is the view's: ${placement}`);
  await dialog.locator('.monaco-button', { hasText: 'Write pruned model' }).click();
  await answerSaveDialog(page, out);
  await page.locator('.notification-toast', { hasText: 'wrote importance-pruned.gguf' }).first().waitFor({ state: 'visible', timeout: 60_000 });
  const demo = fs.statSync(new URL('../../models/demo/demo-moe.gguf', import.meta.url)).size;
  assert.ok(fs.statSync(out).size < demo, `the pruned file (${fs.statSync(out).size} bytes) is smaller than the demo (${demo})`);
  fs.rmSync(out);
  await runCommand(page, 'Notifications: Clear All Notifications');
}

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
      const answerTokens = await assistant.locator('[data-testid="token"]').allTextContents();
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

      // The comparison opens in the lens's editor tab, side by side; the sidebar keeps a compact one.
      const panel = await panelFrame(page, '[data-testid="what-if"]');
      const whatIf = panel.locator('[data-testid="what-if"]');
      await until(async () => (await whatIf.getAttribute('data-status')) !== 'running', { timeout: 150_000, message: 'the regenerated answer' });
      const status = await whatIf.getAttribute('data-status');
      assert.equal(status, 'complete', `the regeneration failed: ${await whatIf.innerText()}`);

      // Both answers token by token; the original column is the chat's answer.
      const column = (testid) => panel.locator(`[data-testid="${testid}"]`).evaluateAll((cells) => cells.filter((c) => !c.classList.contains('ended')).map((c) => c.textContent));
      assert.deepEqual(await column('what-if-original-token'), answerTokens, "the comparison's original is not the chat's answer");
      const variant = await column('what-if-variant-token');
      assert.ok(variant.length > 0, 'the regenerated answer is empty');
      const first = await whatIf.locator('[data-testid="what-if-first"]').innerText();
      log(`first difference: ${first}`);
      const parted = /The answers part at token (\d+)/.exec(first);
      assert.ok(parted || /The answers are identical/.test(first), first);
      if (parted) {
        // The marker sits right before the row of that token (numbered from 1, as in the token panel).
        const next = await panel.locator('[data-testid="what-if-part-marker"] + .aligned-row .aligned-num').innerText();
        assert.equal(next, parted[1], 'the part marker is not at the token where the answers part');
      }

      // Routing of both; the regenerated answer never used the ablated expert; the difference is cell by cell.
      const cells = (testid) =>
        panel.locator(`[data-testid="${testid}"] [data-testid="heat-cell"]`).evaluateAll((cs) => cs.map((c) => ({ key: `${c.dataset.layer}:${c.dataset.expert}`, expert: Number(c.dataset.expert), n: Number(c.dataset.count) })));
      const [original, regenerated, diff] = [await cells('what-if-heatmap-original'), await cells('what-if-heatmap-variant'), await cells('what-if-heatmap-diff')];
      const ablated = regenerated.filter((c) => c.expert === expert).map((c) => c.n);
      assert.ok(ablated.length >= 6, `the regenerated answer's heat map has ${ablated.length} rows for expert ${expert}`);
      assert.deepEqual(ablated, ablated.map(() => 0), `the regenerated answer routed tokens to the ablated expert ${expert}: ${ablated}`);
      assert.ok(original.some((c) => c.expert === expert && c.n > 0), 'the original answer did not use the expert either: the check proves nothing');
      assert.equal(diff.length, original.length, 'the difference map has a cell per layer and expert');
      diff.forEach((d, i) => assert.equal(d.n, regenerated[i].n - original[i].n, `difference at ${d.key}`));
      const scale = Number(await panel.locator('[data-testid="diff-scale"]').getAttribute('data-max'));
      assert.equal(scale, Math.max(...diff.map((d) => Math.abs(d.n))), "the difference map's scale does not end at its largest change");
      await page.setViewportSize({ width: 1400, height: 900 });
      await shot('interventions-what-if-editor');

      // The sidebar at 320 px: where the answers part and the difference map, no columns.
      const sidebar = frame.locator('[data-testid="what-if"]');
      await until(async () => (await sidebar.getAttribute('data-status')) === 'complete', { timeout: 10_000, message: 'the comparison in the sidebar' });
      assert.equal(await sidebar.locator('[data-testid="what-if-aligned"]').count(), 0, 'the sidebar shows the token columns');
      assert.equal(await sidebar.locator('[data-testid="what-if-heatmap-diff"]').count(), 1, 'the sidebar has no difference map');
      const before = (await page.locator('.part.sidebar').boundingBox()).width;
      assert.ok(await sideBarWidth(page, 320), 'the side bar sash was not found');
      try {
        await sidebar.scrollIntoViewIfNeeded();
        const wide = await frame.locator('[data-testid="lens"]').evaluate((lens) => lens.scrollWidth - lens.clientWidth);
        assert.ok(wide <= 0, `the sidebar lens scrolls sideways by ${wide}px with the comparison`);
        await page.locator('.part.sidebar').screenshot({ path: path.join(OUT_DIR, phase, 'interventions-what-if-sidebar-320.png') });
      } finally {
        await sideBarWidth(page, before);
      }
      // The conversation itself is unchanged until the answer is kept.
      assert.equal(await turns(chatFrame(page), 'assistant').count(), 1);
      assert.deepEqual(await assistant.locator('[data-testid="token"]').allTextContents(), answerTokens);

      // Keep this answer: the regenerated answer replaces the original in the conversation; the comparison goes.
      if (parted) {
        await whatIf.locator('[data-testid="what-if-keep"]').click();
        await until(async () => JSON.stringify(await assistant.locator('[data-testid="token"]').allTextContents()) === JSON.stringify(variant), { timeout: 10_000, message: 'the kept answer in the chat' });
        await whatIf.waitFor({ state: 'detached', timeout: 10_000 });
        assert.match(await assistant.innerText(), /kept from a what-if/);
        assert.equal(await turns(chatFrame(page), 'assistant').count(), 1);
        await shot('interventions-kept');
      }
      await runCommand(page, 'View: Close All Editors');
    },
  },
  {
    name: 'interventions: Expert Importance from the palette on the active file shows a layer × expert heat map with its noise, and prunes by it',
    timeout: 300_000,
    async run({ page, env, log, shot }) {
      await openFile(page, 'sample.ts');
      // The file may still be open with the selection an earlier test made: the whole file is offered beside it.
      let panel = await importanceOn(page, 'Active file: sample.ts');
      const summary = await panel.locator('[data-testid="importance-summary"]').innerText();
      log(summary.replace(/\s+/g, ' '));
      // sample.ts is 147 tokens: 8 chunks of 18 (not 2 of 74, whose intervals would be 5× wider: t(1) = 12.7)
      assert.match(summary, /sample\.ts: baseline perplexity \d+\.\d{4} ± \d+\.\d{4}\s+over 8 chunks of \d+ tokens/);
      const cells = await deltaCells(panel);
      assert.equal(cells.length, 6 * 8, 'one cell per layer and expert of the demo model');
      assert.ok(cells.every((c) => Number.isFinite(c.value)), 'every cell has a number');
      assert.ok(cells.some((c) => c.value !== 0), 'ablating some expert changed the perplexity');
      for (const c of cells) {
        assert.ok(c.low <= c.value + 1e-9 && c.value <= c.high + 1e-9, `the interval holds the change: ${JSON.stringify(c)}`);
        assert.equal(c.significant, c.low > 0 || c.high < 0, `significant iff the interval excludes 0: ${JSON.stringify(c)}`);
        assert.equal(c.cls === 'noise', !c.significant, `grey iff within noise: ${JSON.stringify(c)}`);
      }
      const within = cells.filter((c) => !c.significant).length;
      log(`${within} of 48 changes within noise`);
      assert.match(await panel.locator('[data-testid="importance-delta-legend"]').innerText(), /worse without the expert[\s\S]*better without it[\s\S]*within noise/);
      assert.equal(await panel.locator('[data-testid="importance-reap"] td').count(), 6 * 8);
      // A short file: the hint (when shown) sends the user to a longer text, and nothing offers more chunks of this one.
      if (within > 24) assert.match(await panel.locator('[data-testid="importance-noise-hint"]').innerText(), /within noise.*longer text/);
      await shot('interventions-importance');
      assert.equal(await page.locator('.notification-toast', { hasText: 'Again with' }).count(), 0, 'no offer of more chunks on a text that holds no more');
      await pruneByThisMap(page, panel, cells, env, { log, shot });
      await runCommand(page, 'View: Close All Editors');

      // A longer text: 8 chunks leave most changes within noise; the notification runs it again with 16.
      fs.writeFileSync(`${env.workspace}/notes.md`, NOTES);
      await openFile(page, 'notes.md', `${env.workspace}/notes.md`);
      panel = await importanceOn(page, 'Active file: notes.md');
      assert.match(await panel.locator('[data-testid="importance-summary"]').innerText(), /over 8 chunks/);
      assert.match(await panel.locator('[data-testid="importance-noise-hint"]').innerText(), /changes are within noise.*“Again with 16 chunks” in the notification/);
      const again = page.locator('.notification-toast', { hasText: 'within noise' }).locator('.monaco-button', { hasText: 'Again with 16 chunks' });
      await again.waitFor({ state: 'visible', timeout: 10_000 });
      await again.click();
      panel = await panelFrame(page, '[data-testid="importance-summary"]:has-text("over 16 chunks")', { timeout: 150_000 });
      const more = await deltaCells(panel);
      log(`16 chunks: ${more.filter((c) => !c.significant).length} of 48 within noise`);
      assert.equal(more.length, 6 * 8);
      await shot('interventions-importance-16-chunks');
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
