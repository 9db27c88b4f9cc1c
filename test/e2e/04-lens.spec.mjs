// The expert lens against the engine's own trace: a greedy answer of the demo model in the chat, reproduced
// by the CLI (`moe-lens generate --json --chat` with the chat's system prompt and sampling); the token grid,
// the colour-by-layer and the JSONL/CSV exports must show exactly the routing the CLI reports.
//
// Why the test changes two settings first: temperature 0 (greedy) so the CLI reproduces the answer, and
// contextSize (to the demo model's own 512) because a model setting change makes the chat load the model
// again. The engine reuses the KV cache of the previous prompt's common prefix, and llama.cpp is not
// batch-size invariant: a prompt decoded after a cached prefix routes its answer with gate weights a few 1e-4
// off a cold run (same experts and tokens). The CLI always runs cold, so the chat must too for exact digits.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerSaveDialog, chatFrame, openChat, panelFrame, runCommand, selectDropdown, sendPrompt, setSettingInUi, sideBarWidth, turns, until } from '../../scripts/e2e/driver.mjs';
import { OUT_DIR, ROOT, extensionLogFile, moeLensCli, sleep } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

const PROMPT = 'To read the file, call open(path) and then';
const CONTEXT = 512; // the demo model's training context, i.e. what contextSize 0 gives it anyway
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const defaults = Object.fromEntries(Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k.replace(/^moeLens\./, ''), v.default]));

// Shared between the tests below (they run in order on one page).
const S = {
  originalSettings: undefined,
  settings: undefined,
  modelFile: undefined,
  moeLayers: undefined,
  cli: undefined, // { lines: string[], tokens: object[], done: object }
  generated: undefined, // CLI tokens of the answer
  exportDir: undefined,
};

const byIndex = (index) => S.cli.tokens.find((t) => t.index === index);
/** A token's text as the token view shows it: a line break gets a visible ↵ before it, an empty text is ∅. */
const shown = (text) => (text === '' ? '∅' : text.replace(/\r?\n/g, '↵$&'));
/** The chat's export line of a CLI token: numbered as the lens numbers it (message, token within it, from 1). */
const chatLine = (line, message, index) => {
  const t = JSON.parse(line);
  return JSON.stringify({ message, index, phase: t.phase, id: t.id, text: t.text, experts: t.experts, weights: t.weights });
};

/** The extension's "MoE Lens" output channel, as written to its log file. */
function extensionLog(userDataDir) {
  const file = extensionLogFile(userDataDir);
  return file ? fs.readFileSync(file, 'utf8') : '';
}

/** The CLI run that reproduces the chat turn: same model file, chat template, system prompt and sampling. */
function cliGenerateArgs(settings) {
  return [
    'generate', S.modelFile,
    '--prompt', PROMPT,
    '--chat', '--system', settings.systemPrompt,
    '--json',
    '--temperature', String(settings.temperature),
    '--top-k', String(settings.topK), '--top-p', String(settings.topP), '--min-p', String(settings.minP),
    '--repeat-penalty', String(settings.repeatPenalty),
    '--seed', String(settings.seed),
    '-n', String(settings.maxTokens),
    '--threads', String(settings.threads),
    '--context', String(CONTEXT),
  ];
}

function assistantTurn(frame) {
  return turns(frame, 'assistant').last();
}

/** Every token span of the answer as {index, pos, expert, cls, text}. */
async function answerSpans(frame) {
  return assistantTurn(frame)
    .locator('[data-testid="token"]')
    .evaluateAll((spans) => spans.map((s) => ({ index: Number(s.dataset.index), pos: Number(s.dataset.pos), expert: s.dataset.expert === undefined ? -1 : Number(s.dataset.expert), cls: s.className, text: s.textContent })));
}

/** The grid of the selected token as the webview shows it. */
async function gridCells(frame) {
  return frame
    .locator('[data-testid="token-grid"] [data-testid="grid-cell"]')
    .evaluateAll((cells) =>
      cells.map((c) => ({ layer: Number(c.dataset.layer), layerId: Number(c.dataset.layerId), expert: Number(c.dataset.expert), rank: c.dataset.rank, weight: c.dataset.weight, cls: c.className })),
    );
}

/** Most frequent top-1 expert over the layers, lowest id on ties (the lens's "All layers" colour). */
function modeTop1(tok) {
  const counts = new Map();
  for (const l of tok.experts) counts.set(l[0], (counts.get(l[0]) ?? 0) + 1);
  let best = -1;
  let bestCount = 0;
  for (const [e, c] of counts) if (c > bestCount || (c === bestCount && e < best)) [best, bestCount] = [e, c];
  return best;
}

async function expectGridOf(frame, index) {
  const tok = byIndex(index);
  assert.ok(tok, `the CLI trace has no token ${index}`);
  // The lens numbers tokens within the message from 1 (the CLI by context position).
  const number = S.generated.findIndex((t) => t.index === index) + 1;
  const detail = frame.locator('[data-testid="token-detail"]');
  await until(async () => Number(await detail.getAttribute('data-number').catch(() => -1)) === number, { timeout: 10_000, message: `token-detail of token ${number} (#${index})` });
  const head = await detail.locator('.token-head').innerText();
  assert.ok(head.includes(`token ${number} of ${S.generated.length}`) && head.includes(`id ${tok.id}`) && head.includes('generated'), `token head "${head}" ≠ token ${number} of ${S.generated.length}, id ${tok.id}`);
  assert.ok(head.includes(JSON.stringify(tok.text)), `token head "${head}" lacks the text ${JSON.stringify(tok.text)}`);
  const layers = tok.experts.length;
  const k = tok.experts[0].length;
  let cells;
  // The grid renders on the next animation frame after the selection: wait for the chosen cells to match.
  const expected = new Map();
  tok.experts.forEach((row, l) => row.forEach((e, r) => expected.set(`${l}:${e}`, { rank: String(r), weight: String(tok.weights[l][r]) })));
  await until(
    async () => {
      cells = await gridCells(frame);
      return cells.filter((c) => c.rank !== undefined).every((c) => expected.get(`${c.layer}:${c.expert}`)?.rank === c.rank);
    },
    { timeout: 5000, message: `the grid of token #${index}` },
  ).catch(() => {});
  const experts = Math.max(...cells.map((c) => c.expert)) + 1;
  assert.equal(experts, 8, 'grid columns');
  assert.equal(cells.length, layers * experts, `grid has ${cells.length} cells, expected ${layers} × ${experts}`);
  for (const c of cells) {
    assert.equal(c.layerId, S.moeLayers[c.layer], `cell L${c.layer} shows model layer ${c.layerId}, inspect says ${S.moeLayers[c.layer]}`);
    const want = expected.get(`${c.layer}:${c.expert}`);
    if (!want) {
      assert.equal(c.rank, undefined, `token #${index} layer ${c.layer} expert ${c.expert}: chosen in the grid (rank ${c.rank}), not by the engine`);
      assert.equal(c.weight, undefined, `token #${index} layer ${c.layer} expert ${c.expert}: has a weight but was not chosen`);
      assert.ok(!/\bchosen\b/.test(c.cls), `token #${index} layer ${c.layer} expert ${c.expert}: drawn as chosen`);
      continue;
    }
    assert.equal(c.rank, want.rank, `token #${index} layer ${c.layer} expert ${c.expert}: rank`);
    assert.equal(c.weight, want.weight, `token #${index} layer ${c.layer} expert ${c.expert}: gate weight`);
    assert.ok(c.cls.split(' ').includes('chosen') && c.cls.split(' ').includes(`x${c.expert}`), `token #${index} layer ${c.layer} expert ${c.expert}: class "${c.cls}"`);
  }
  assert.equal(cells.filter((c) => c.rank !== undefined).length, layers * k, `chosen cells of token #${index}`);
  // The top-1 path above the grid.
  const chips = await detail.locator('[data-testid="token-path"] .chip').evaluateAll((cs) => cs.map((c) => Number(c.dataset.expert)));
  assert.deepEqual(chips, tok.experts.map((row) => row[0]), `top-1 path of token #${index}`);
}

async function exportVia(page, frame, testid, scope, file) {
  fs.rmSync(file, { force: true });
  await frame.locator(`[data-testid="${testid}"][data-scope="${scope}"]`).click();
  const proposed = await answerSaveDialog(page, file);
  // routing-export.ts proposes moe-lens-routing.<format> in the workspace folder.
  const ext = testid === 'export-csv' ? 'csv' : 'jsonl';
  assert.equal(proposed, path.join(path.dirname(path.dirname(file)), `moe-lens-routing.${ext}`), 'the save dialog proposal');
  await until(() => fs.existsSync(file) && fs.statSync(file).size > 0, { timeout: 15_000, message: `${file} written` });
  const toast = page.locator('.notification-toast', { hasText: `saved to ${file}` }).first();
  await toast.waitFor({ state: 'visible', timeout: 10_000 });
  const text = (await toast.innerText()).replace(/\u00a0/g, ' ');
  await page.keyboard.press('Escape');
  return { text: fs.readFileSync(file, 'utf8'), proposed, toast: text };
}

/** A screenshot of the lens alone (it scrolls: `scrollTo` is brought into view first). */
async function lensShot(frame, name, scrollTo) {
  if (scrollTo) await frame.locator(scrollTo).first().evaluate((el) => el.scrollIntoView({ block: 'end' }));
  const file = path.join(OUT_DIR, phase, `lens-${name}.png`);
  await frame.locator('[data-testid="lens"]').screenshot({ path: file });
  return file;
}

export const tests = [
  {
    name: 'lens: a greedy answer of the demo model, reproduced by the CLI',
    timeout: 240_000,
    async run({ page, env, log, shot }) {
      const frame = await openChat(page);
      await runCommand(page, 'MoE Lens: New Chat');
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 15_000 });
      // Deterministic answer; a model setting change so the next answer starts from a cold KV cache (see top).
      // Through the Settings editor (code-server does not pick up a settings.json written behind its back).
      S.originalSettings = fs.readFileSync(env.settingsFile, 'utf8');
      const user = JSON.parse(S.originalSettings);
      const logBefore = extensionLog(env.userDataDir).length;
      await setSettingInUi(page, 'moeLens.temperature', 0);
      await setSettingInUi(page, 'moeLens.contextSize', CONTEXT);
      await until(() => /"moeLens\.temperature": 0,[^]*"moeLens\.contextSize": 512/.test(fs.readFileSync(env.settingsFile, 'utf8')), { timeout: 10_000, message: 'the settings written' });
      await until(() => extensionLog(env.userDataDir).slice(logBefore).includes('Model settings changed'), { timeout: 20_000, message: 'the extension to see the new settings' });
      await runCommand(page, 'View: Close All Editors');
      await frame.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 10_000 });
      const setting = (k) => ({ ...defaults, ...Object.fromEntries(Object.entries(user).filter(([key]) => key.startsWith('moeLens.')).map(([key, v]) => [key.slice(8), v])), temperature: 0 })[k];
      S.settings = Object.fromEntries(['systemPrompt', 'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'seed', 'maxTokens', 'threads'].map((k) => [k, setting(k)]));
      assert.ok(S.settings.threads > 0, 'the e2e settings fix the thread count');
      log(`chat settings: ${JSON.stringify(S.settings)}`);

      const logMark = extensionLog(env.userDataDir).length;
      await sendPrompt(frame, PROMPT);
      const assistant = assistantTurn(frame);
      await assistant.waitFor({ state: 'visible', timeout: 10_000 });
      await until(async () => (await assistant.locator('[data-testid="turn-stats"], [data-testid="turn-error"], [data-testid="turn-stopped"]').count()) > 0, {
        timeout: 150_000,
        message: 'the answer to complete',
      });
      assert.equal(await assistant.locator('[data-testid="turn-error"]').count(), 0, 'the answer failed');
      assert.equal(await assistant.getAttribute('data-status'), 'complete');
      const newLog = extensionLog(env.userDataDir).slice(logMark);
      // The extension loads the committed demo model from its own folder: the CLI runs on exactly that file.
      S.modelFile = path.join(ROOT, 'models', 'demo', 'demo-moe.gguf');
      assert.ok(newLog.includes(`Loading ${S.modelFile} (demo model)`), 'the model was not loaded again after the settings change (warm KV cache), or not from models/demo');
      S.moeLayers = JSON.parse(await moeLensCli(['inspect', S.modelFile, '--json'])).moeLayers;

      const t0 = Date.now();
      const out = (await moeLensCli(cliGenerateArgs(S.settings))).trim().split('\n');
      const lines = out.filter((l) => !l.startsWith('{"done"'));
      S.cli = { lines, tokens: lines.map((l) => JSON.parse(l)), done: JSON.parse(out.find((l) => l.startsWith('{"done"'))) };
      S.generated = S.cli.tokens.filter((t) => t.phase === 'generated');
      log(`CLI: ${S.cli.done.promptTokens} prompt + ${S.cli.done.generatedTokens} generated tokens (${S.cli.done.stopReason}) in ${Date.now() - t0} ms`);
      assert.ok(S.cli.done.routingCaptured, 'the CLI did not capture routing');
      assert.ok(S.generated.length >= 3, `the CLI generated only ${S.generated.length} tokens`);
      assert.equal(S.generated[0].index, S.cli.done.promptTokens);

      // The answer as tokens: the same token indices and texts as the engine's trace, in order.
      if ((await assistant.locator('[data-testid="turn-lens-toggle"]').getAttribute('aria-pressed')) !== 'true') await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
      const spans = await answerSpans(frame);
      assert.deepEqual(
        spans.map((s) => s.index),
        S.generated.map((t) => t.index),
        'the answer tokens shown differ from the CLI trace (greedy, same prompt): the chat and the CLI did not generate the same answer',
      );
      spans.forEach((s, i) => assert.equal(s.text, shown(S.generated[i].text), `text of token #${s.index}`));
      const stats = (await assistant.locator('[data-testid="turn-stats"]').innerText()).replace(/\u00a0/g, ' ');
      log(`answer: ${S.generated.length} tokens; stats: ${stats.replace(/\s+/g, ' ')}`);
      await shot('lens-answer-tokens');
    },
  },
  {
    name: 'lens: the grid of a selected token shows the routing the engine reported',
    timeout: 60_000,
    async run({ page, shot }) {
      assert.ok(S.cli, 'no CLI trace: the first lens test failed');
      const frame = chatFrame(page);
      const assistant = assistantTurn(frame);
      const picks = [S.generated[0].index, S.generated[Math.floor(S.generated.length / 2)].index, S.generated[S.generated.length - 1].index];
      for (const index of picks) {
        const span = assistant.locator(`[data-testid="token"][data-index="${index}"]`);
        await span.scrollIntoViewIfNeeded();
        await span.click();
        await frame.locator('[data-testid="lens"]').waitFor({ state: 'visible', timeout: 10_000 });
        assert.equal(await span.getAttribute('aria-selected'), 'true', `token #${index} not marked selected`);
        await expectGridOf(frame, index);
      }
      // Keyboard: the next token's grid (ArrowLeft from the last one).
      const last = picks[picks.length - 1];
      await assistant.locator(`[data-testid="token"][data-index="${last}"]`).press('ArrowLeft');
      await expectGridOf(frame, last - 1);
      await assistant.locator(`[data-testid="token"][data-index="${picks[1]}"]`).click();
      await expectGridOf(frame, picks[1]);
      await shot('lens-token-grid');
      // The whole grid is visible in the side bar (no expert column cut off on the right).
      const fit = await frame.locator('[data-testid="lens"]').evaluate((lens) => {
        const grid = lens.querySelector('[data-testid="token-grid"]');
        return { lens: Math.round(lens.getBoundingClientRect().right), grid: Math.round(grid.getBoundingClientRect().right), cells: grid.querySelectorAll('[data-testid="grid-cell"]').length };
      });
      assert.ok(fit.grid <= fit.lens, `the token grid (right edge ${fit.grid}px) is wider than the lens (${fit.lens}px): expert columns are cut off`);
      await lensShot(frame, 'token-grid', '[data-testid="token-grid"]');
    },
  },
  {
    name: 'lens: colour by layer is the top-1 expert of the trace at that layer',
    timeout: 90_000,
    async run({ page, shot }) {
      assert.ok(S.cli, 'no CLI trace: the first lens test failed');
      const frame = chatFrame(page);
      const colourings = new Set();
      const check = async (mode, expectedOf) => {
        await selectDropdown(frame, 'layer-select', mode);
        let spans;
        await until(
          async () => {
            spans = await answerSpans(frame);
            return spans.length === S.generated.length && spans.every((s) => s.expert === expectedOf(byIndex(s.index)));
          },
          { timeout: 5000, message: `tokens coloured by ${mode}` },
        ).catch(() => {});
        assert.equal(spans.length, S.generated.length, 'token spans');
        for (const s of spans) {
          const e = expectedOf(byIndex(s.index));
          assert.equal(s.expert, e, `colour by ${mode}: token #${s.index} data-expert`);
          assert.ok(s.cls.split(' ').includes(`x${e}`), `colour by ${mode}: token #${s.index} class "${s.cls}" lacks x${e}`);
        }
        return spans.map((s) => s.expert).join(',');
      };
      const layers = S.generated[0].experts.length;
      for (let l = 0; l < layers; l++) {
        colourings.add(await check(String(l), (t) => t.experts[l][0]));
        if (l === 3) {
          await shot('lens-colour-layer-3');
          await lensShot(frame, 'colour-layer-3');
        }
      }
      assert.ok(colourings.size > 1, 'every layer gave the same colouring: the layer select changes nothing');
      await check('mode', modeTop1);
      // The selected token's grid does not depend on the colour mode.
      await expectGridOf(frame, S.generated[Math.floor(S.generated.length / 2)].index);
    },
  },
  {
    name: 'lens: JSONL and CSV exports of the answer and the conversation equal the CLI trace',
    timeout: 120_000,
    async run({ page, env, log, shot }) {
      assert.ok(S.cli, 'no CLI trace: the first lens test failed');
      const frame = chatFrame(page);
      S.exportDir = path.join(env.workspace, 'lens-exports');
      fs.mkdirSync(S.exportDir, { recursive: true });
      await frame.locator('[data-testid="lens-tab-message"]').click();
      const aggregates = frame.locator('[data-testid="aggregates"][data-scope="message"]');
      await aggregates.waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(Number(await aggregates.getAttribute('data-tokens')), S.generated.length, 'message aggregates token count');
      // Heat map counts (top-k): per layer and expert, how many answer tokens chose it.
      const heat = await frame.locator('[data-testid="heatmap"] [data-testid="heat-cell"]').evaluateAll((cs) => cs.map((c) => ({ l: Number(c.dataset.layer), e: Number(c.dataset.expert), n: Number(c.dataset.count) })));
      assert.ok(heat.length > 0, 'no heat map');
      const which = await frame.locator('[data-testid="heatmap"]').getAttribute('data-which');
      for (const c of heat) {
        const want = S.generated.filter((t) => (which === 'top1' ? t.experts[c.l][0] === c.e : t.experts[c.l].includes(c.e))).length;
        assert.equal(c.n, want, `heat map (${which}) layer ${c.l} expert ${c.e}`);
      }
      await shot('lens-message-aggregates');
      await lensShot(frame, 'message-aggregates', '[data-testid="heatmap"]');

      const jsonl = await exportVia(page, frame, 'export-jsonl', 'message', path.join(S.exportDir, 'answer.jsonl'));
      log(`save dialog proposed ${JSON.stringify(jsonl.proposed)}; ${jsonl.toast.split('\n')[0]}`);
      assert.match(jsonl.toast, /routing of 1 turn\(s\) saved/);
      const got = jsonl.text.split('\n');
      assert.equal(got.pop(), '', 'JSONL ends with a newline');
      // The answer is message 2 of the conversation; its tokens are numbered from 1 (the CLI: context positions).
      const want = S.cli.lines.filter((l) => JSON.parse(l).phase === 'generated').map((l, i) => chatLine(l, 2, i + 1));
      assert.equal(got.length, want.length, 'JSONL lines of the answer');
      got.forEach((line, i) => assert.equal(line, want[i], `JSONL line ${i} (token #${S.generated[i].index}) differs from the CLI`));

      const csv = await exportVia(page, frame, 'export-csv', 'message', path.join(S.exportDir, 'answer.csv'));
      const field = (s) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      let wantCsv = 'message,token_index,token,layer,rank,expert,weight\r\n';
      S.generated.forEach((t, i) => t.experts.forEach((row, l) => row.forEach((e, r) => (wantCsv += `2,${i + 1},${field(t.text)},${S.moeLayers[l]},${r},${e},${t.weights[l][r]}\r\n`))));
      assert.equal(csv.text, wantCsv, 'CSV of the answer differs from the CLI trace');

      // The conversation: the prompt's routing (user turn) and the answer's, i.e. the whole CLI trace.
      await frame.locator('[data-testid="lens-tab-conversation"]').click();
      await frame.locator('[data-testid="aggregates"][data-scope="conversation"]').waitFor({ state: 'visible', timeout: 10_000 });
      await shot('lens-conversation-aggregates');
      await lensShot(frame, 'conversation-aggregates', '[data-testid="layer-stats"]');
      const all = await exportVia(page, frame, 'export-jsonl', 'conversation', path.join(S.exportDir, 'conversation.jsonl'));
      assert.match(all.toast, /routing of 2 turn\(s\) saved/);
      const allLines = all.text.split('\n').slice(0, -1);
      assert.equal(allLines.length, S.cli.lines.length, `conversation JSONL has ${allLines.length} tokens, the CLI ${S.cli.lines.length} (prompt ${S.cli.done.promptTokens})`);
      const prompt = S.cli.done.promptTokens;
      allLines.forEach((line, i) => assert.equal(line, i < prompt ? chatLine(S.cli.lines[i], 1, i + 1) : chatLine(S.cli.lines[i], 2, i - prompt + 1), `conversation JSONL line ${i} differs from the CLI`));
    },
  },
  {
    name: 'lens: in an editor tab at full width (following its message), and compact in a 320 px sidebar',
    timeout: 90_000,
    async run({ page, shot }) {
      assert.ok(S.cli, 'no CLI trace: the first lens test failed');
      const frame = chatFrame(page);
      await page.setViewportSize({ width: 1400, height: 900 });
      await frame.locator('[data-testid="lens-pop-out"]').click();
      const panel = await panelFrame(page, '.lens-editor [data-testid="lens"]');
      await until(async () => /^#2 Model:/.test(await panel.locator('[data-testid="lens-title"]').innerText()), { timeout: 10_000, message: 'the editor tab on the answer' });
      // The answer as tokens beside the lens; a token's grid, all expert columns inside the lens.
      const answer = panel.locator('[data-testid="turn"][data-role="assistant"]').last();
      await until(async () => (await answer.locator('[data-testid="token"]').count()) === S.generated.length, { timeout: 10_000, message: "the answer's tokens in the editor tab" });
      const middle = Math.floor(S.generated.length / 2);
      await answer.locator(`[data-testid="token"][data-pos="${middle}"]`).click();
      await expectGridOf(panel, S.generated[middle].index);
      const fit = await panel.locator('[data-testid="lens"]').evaluate((lens) => {
        const grid = lens.querySelector('[data-testid="token-grid"]');
        return { lens: lens.getBoundingClientRect().right, grid: grid.getBoundingClientRect().right, width: lens.getBoundingClientRect().width };
      });
      assert.ok(fit.grid <= fit.lens, `the grid (right ${fit.grid}) is cut off by the lens (right ${fit.lens})`);
      assert.ok(fit.width >= 600, `the editor-tab lens is ${fit.width}px wide, not the editor's width beside the tokens`);
      await shot('lens-editor-token');
      // The message's aggregates: the per-layer table at full width, nothing clipped, every heat map with its scale.
      await panel.locator('[data-testid="lens-tab-message"]').click();
      await panel.locator('[data-testid="layer-stats"]').waitFor({ state: 'visible', timeout: 10_000 });
      const table = await panel.locator('.table-wrap').first().evaluate((w) => ({ scroll: w.scrollWidth, client: w.clientWidth }));
      assert.ok(table.scroll <= table.client, `the per-layer table overflows its box (${table.scroll} > ${table.client}px)`);
      const max = Number(await panel.locator('[data-testid="heat-scale"]').first().getAttribute('data-max'));
      const counts = await panel.locator('[data-testid="heatmap"] [data-testid="heat-cell"]').evaluateAll((cs) => cs.map((c) => Number(c.dataset.count)));
      assert.equal(max, Math.max(...counts), "the heat map's scale does not end at its largest count");
      await shot('lens-editor-message');
      // It follows the message the sidebar's lens is opened on.
      await turns(frame, 'user').last().locator('.turn-header .role').click();
      await until(async () => /^#1 You:/.test(await panel.locator('[data-testid="lens-title"]').innerText()), { timeout: 10_000, message: 'the editor tab following the prompt' });
      await assistantTurn(frame).locator('.turn-header .role').click();
      await until(async () => /^#2 Model:/.test(await panel.locator('[data-testid="lens-title"]').innerText()), { timeout: 10_000, message: 'the editor tab back on the answer' });

      // The sidebar at 320 px: the lens's tabs all visible (wrapped, not cut), nothing wider than the lens.
      const before = (await page.locator('.part.sidebar').boundingBox()).width;
      assert.ok(await sideBarWidth(page, 320), 'the side bar sash was not found');
      try {
        await frame.locator('[data-testid="lens-tab-message"]').click();
        await frame.locator('[data-testid="layer-stats"]').waitFor({ state: 'visible', timeout: 10_000 });
        const fits = await frame.locator('[data-testid="lens"]').evaluate((lens) => {
          const box = lens.getBoundingClientRect();
          const tabs = [...lens.querySelectorAll('vscode-panel-tab')].map((t) => ({ text: t.textContent, right: t.getBoundingClientRect().right, width: t.getBoundingClientRect().width }));
          const wrap = lens.querySelector('.table-wrap');
          return { width: box.width, right: box.right, scroll: lens.scrollWidth, client: lens.clientWidth, tabs, table: wrap.scrollWidth - wrap.clientWidth };
        });
        assert.ok(fits.width <= 330, `the sidebar lens is ${fits.width}px wide`);
        for (const t of fits.tabs) assert.ok(t.right <= fits.right && t.width > 20, `the lens tab "${t.text}" is cut off (right ${t.right} > ${fits.right})`);
        assert.ok(fits.scroll <= fits.client, `the sidebar lens scrolls sideways (${fits.scroll} > ${fits.client}px)`);
        assert.ok(fits.table <= 0, `the per-layer table scrolls sideways inside the lens by ${fits.table}px`);
        await page.locator('.part.sidebar').screenshot({ path: path.join(OUT_DIR, phase, 'lens-sidebar-320.png') });
      } finally {
        await sideBarWidth(page, before);
      }
    },
  },
  {
    name: 'lens: compare the prompt with the answer; settings restored',
    timeout: 60_000,
    async run({ page, shot }) {
      const frame = chatFrame(page);
      try {
        assert.ok(S.cli, 'no CLI trace: the first lens test failed');
        await frame.locator('[data-testid="lens-tab-compare"]').click();
        const table = frame.locator('[data-testid="compare-table"]');
        await table.waitFor({ state: 'visible', timeout: 10_000 });
        assert.equal(await table.locator('[data-testid="compare-row"]').count(), S.moeLayers.length, 'one compare row per MoE layer');
        await shot('lens-compare');
        await lensShot(frame, 'compare', '[data-testid="compare-table"]');
        await frame.locator('[data-testid="lens-tab-token"]').click();
        await selectDropdown(frame, 'layer-select', 'mode');
      } finally {
        if (S.originalSettings !== undefined) {
          const user = JSON.parse(S.originalSettings);
          await setSettingInUi(page, 'moeLens.temperature', user['moeLens.temperature'] ?? defaults.temperature);
          await setSettingInUi(page, 'moeLens.contextSize', user['moeLens.contextSize'] ?? defaults.contextSize);
          await runCommand(page, 'View: Close All Editors');
        }
        await sleep(500);
      }
    },
  },
];
