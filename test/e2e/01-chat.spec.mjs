// The sidebar chat with the built-in demo model: open, stream, stop, persist across a reload; the demo's starters
// and a three-turn conversation at the answer length that fits the model.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chatFrame, clickStopOnFirstText, openChat, recordStreaming, runCommand, sendPrompt, setSettingInUi, sideBarWidth, turns, turnText, until, waitForWorkbench, watchForFirstText } from '../../scripts/e2e/driver.mjs';
import { OUT_DIR, extensionLogFile, processesMatching, sleep } from '../../scripts/e2e/lib.mjs';

export const phase = 'dev';

// Engine processes started by this code-server (its process group), not other runs on the machine.
let serverPgid;
const engineProcesses = () => processesMatching('engine-process.js', serverPgid);

export const tests = [
  {
    name: 'activity bar container and chat view open; no engine started yet',
    async run({ page, env, shot }) {
      serverPgid = env.server.pid;
      const item = page.locator('.activitybar [aria-label^="MoE Lens"]').first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      await item.click();
      const frame = chatFrame(page);
      await frame.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 30_000 });
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 10_000 });
      // Activation is lazy: opening the view must not fork the engine or load a model.
      assert.equal(engineProcesses().length, 0, 'engine process started on activation');
      // The demo continues text: the empty state offers texts to start from, and the input asks for one.
      assert.ok((await frame.locator('[data-testid="starter"]').count()) >= 4, 'no starter texts for the demo');
      assert.match(String(await frame.locator('[data-testid="chat-input"]').getAttribute('placeholder')), /continue/i);
      await shot('chat-view-empty');
    },
  },
  {
    name: 'send a prompt to the demo model and see the streamed answer',
    timeout: 180_000,
    async run({ page, shot, log }) {
      const frame = await openChat(page);
      const streamLog = await recordStreaming(page, 0);
      await sendPrompt(frame, 'Hello, which experts do you use?');
      await turns(frame, 'user').first().waitFor({ state: 'visible', timeout: 10_000 });
      const assistant = turns(frame, 'assistant').first();
      await assistant.waitFor({ state: 'visible', timeout: 10_000 });
      // Streaming: text shows up before the answer completes (stats appear at the end).
      let sawPartial = false;
      const textOf = () => turnText(assistant);
      await until(
        async () => {
          const text = await textOf();
          const done = await assistant.locator('[data-testid="turn-stats"]').count();
          if (text.trim() && !done) sawPartial = true;
          return done > 0;
        },
        { timeout: 150_000, interval: 50, message: 'the answer to complete' },
      );
      const text = await textOf();
      assert.ok(text.trim().length > 0, 'answer text is empty');
      // Streaming: the text grew over several updates before the turn finished.
      const samples = await streamLog();
      const partialLengths = new Set(samples.filter((x) => !x.done && x.len > 0).map((x) => x.len));
      log(`answer: ${JSON.stringify(text.slice(0, 60))}… (${partialLengths.size} partial renders, polled partial: ${sawPartial})`);
      assert.ok(partialLengths.size >= 2, `the answer was not streamed (${partialLengths.size} partial renders)`);
      assert.equal(await assistant.locator('[data-testid="turn-error"]').count(), 0, 'answer has an error');
      // The demo label is shown.
      assert.match(await frame.locator('[data-testid="model-line"]').innerText(), /demo/i);
      assert.ok(await frame.locator('[data-testid="demo-label"]').isVisible(), 'demo label hidden');
      // Routing recorded: the answer shown as tokens coloured by expert.
      await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
      await shot('answer-as-expert-tokens');
      await assistant.locator('[data-testid="turn-lens-toggle"]').click();
      await assistant.locator('[data-testid="turn-text"]').waitFor({ state: 'visible', timeout: 10_000 });
      assert.equal(engineProcesses().length, 1, 'expected exactly one engine process');
      await shot('answer-streamed');
    },
  },
  {
    name: 'stop a generation',
    timeout: 150_000,
    async run({ page, shot, log }) {
      const frame = chatFrame(page);
      // Random weights may hit end-of-sequence early: try a few prompts until one is still running when stopped.
      for (let attempt = 1; ; attempt++) {
        const before = await turns(frame, 'assistant').count();
        const stop = await clickStopOnFirstText(page, before);
        await sendPrompt(frame, `Write a very long story, part ${attempt}.`);
        const assistant = turns(frame, 'assistant').nth(before);
        await assistant.waitFor({ state: 'visible', timeout: 10_000 });
        await stop.fired();
        await until(async () => (await assistant.locator('[data-testid="turn-stopped"], [data-testid="turn-stats"]').count()) > 0, { timeout: 60_000, message: 'the answer to end' });
        if (await assistant.locator('[data-testid="turn-stopped"]').count()) break;
        log(`attempt ${attempt}: the answer finished before Stop`);
        assert.ok(attempt < 4, 'every answer finished before Stop could be clicked');
      }
      await until(async () => !/generating|loading/i.test(await frame.locator('[data-testid="model-state"]').innerText()), { timeout: 10_000, message: 'state to leave generating' });
      assert.ok(!(await frame.locator('[data-testid="stop"]').isVisible()), 'Stop still visible after stopping');
      await shot('generation-stopped');
    },
  },
  {
    name: 'engine crash mid-answer: clear error on the turn, Retry answers, nothing lost',
    timeout: 240_000,
    async run({ page, shot, log }) {
      const frame = chatFrame(page);
      // Random weights may end an answer within a few tokens: try a few prompts until the kill lands mid-answer.
      let assistant, error, before, assistantsBefore;
      for (let attempt = 1; ; attempt++) {
        before = await turns(frame).count();
        assistantsBefore = await turns(frame, 'assistant').count();
        // Where the engine already runs (earlier tests), find it first, so the kill lands at the first streamed
        // text; after a missed attempt the prompt starts a new one.
        const running = engineProcesses();
        assert.ok(running.length <= 1, 'more than one engine process');
        const streaming = await watchForFirstText(page, assistantsBefore);
        await sendPrompt(frame, `Tell me everything, part ${attempt}.`);
        assistant = turns(frame, 'assistant').nth(assistantsBefore);
        await assistant.waitFor({ state: 'visible', timeout: 10_000 });
        await streaming.fired();
        const [engine] = running.length ? running : engineProcesses();
        process.kill(engine.pid, 'SIGKILL');
        error = assistant.locator('[data-testid="turn-error"]');
        const ended = await until(async () => ((await error.count()) ? 'error' : (await assistant.locator('[data-testid="turn-stats"]').count()) ? 'done' : ''), {
          timeout: 20_000,
          message: 'the crash to surface',
        });
        if (ended === 'error') break;
        log(`attempt ${attempt}: the answer completed before the engine was killed`);
        assert.ok(attempt < 4, 'every answer completed before the engine was killed');
        await until(async () => !/generating|loading/i.test(await frame.locator('[data-testid="model-state"]').innerText()), { timeout: 10_000, message: 'idle' });
      }
      assert.match(await error.innerText(), /engine/i);
      await shot('engine-crashed');
      await until(async () => !/generating/i.test(await frame.locator('[data-testid="model-state"]').innerText()), { timeout: 10_000, message: 'state to leave generating' });
      await assistant.locator('[data-testid="retry"]').click();
      const retried = turns(frame, 'assistant').nth(assistantsBefore);
      await until(async () => (await retried.locator('[data-testid="turn-stats"], [data-testid="turn-stopped"]').count()) > 0, { timeout: 120_000, message: 'the retried answer' });
      assert.equal(await retried.locator('[data-testid="turn-error"]').count(), 0, 'retry failed');
      assert.equal(await turns(frame).count(), before + 2, 'turns lost or duplicated');
      assert.equal(engineProcesses().length, 1, 'a new engine process should serve the retry');
      await shot('engine-recovered');
    },
  },
  {
    name: 'reload the window and find the conversation',
    timeout: 120_000,
    async run({ page, shot }) {
      const frame = chatFrame(page);
      const count = await turns(frame).count();
      assert.ok(count >= 4, `expected at least 4 turns before reload, got ${count}`);
      // Turns far from the viewport are parked (emptied); scroll the first answer into view, as a user would.
      const firstAnswerOf = async (f) => {
        const turn = turns(f, 'assistant').first();
        await turn.scrollIntoViewIfNeeded();
        return until(async () => (await turnText(turn)).trim() && turnText(turn), { timeout: 10_000, message: 'the first answer rendered' });
      };
      const firstAnswer = await firstAnswerOf(frame);
      await runCommand(page, 'Developer: Reload Window');
      await sleep(1000);
      await waitForWorkbench(page);
      // The view comes back by itself (it was visible); focus it with Open Chat otherwise (clicking the
      // activity bar icon of the active container would hide the side bar instead).
      const again = chatFrame(page);
      try {
        await again.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 45_000 });
      } catch {
        await runCommand(page, 'MoE Lens: Open Chat');
        await again.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 30_000 });
      }
      await until(async () => (await turns(again).count()) === count, { timeout: 30_000, message: `${count} turns after reload` });
      assert.equal(await firstAnswerOf(again), firstAnswer);
      // The answer that was stopped comes back stopped, not stuck "generating".
      assert.ok((await again.locator('[data-testid="turn-stopped"]').count()) >= 1, 'stopped turn lost its status');
      assert.ok(!/generating/i.test(await again.locator('[data-testid="model-state"]').innerText()), 'state stuck in generating after reload');
      await shot('after-reload');
    },
  },
  {
    name: 'three turns with the demo at the answer length that fits it: the third answer still reads the first message',
    timeout: 240_000,
    async run({ page, env, shot, log }) {
      const frame = chatFrame(page);
      const settings = JSON.parse(fs.readFileSync(env.settingsFile, 'utf8'));
      // The harness fixes an answer length; 0 is the default, the length that fits the model.
      await setSettingInUi(page, 'moeLens.maxTokens', 0);
      // (The Settings editor may write 0 or, being the default, drop the key.)
      await until(() => !/"moeLens\.maxTokens":\s*[1-9]/.test(fs.readFileSync(env.settingsFile, 'utf8')), { timeout: 10_000, message: 'the setting written' });
      try {
        await runCommand(page, 'View: Close All Editors');
        await frame.locator('[data-testid="new-chat"]').click();
        await frame.locator('[data-testid="starter"]').first().waitFor({ state: 'visible', timeout: 10_000 });
        const logFile = extensionLogFile(env.userDataDir);
        const logStart = logFile ? fs.readFileSync(logFile, 'utf8').length : 0;
        // Turn 1 from a starter (clicking it sends it), turns 2 and 3 typed.
        const first = await frame.locator('[data-testid="starter"]').first().getAttribute('title');
        await frame.locator('[data-testid="starter"]').first().click();
        const answered = async (n) => {
          const answer = turns(frame, 'assistant').nth(n - 1);
          await until(async () => (await answer.locator('[data-testid="turn-stats"], [data-testid="turn-error"]').count()) > 0, { timeout: 90_000, message: `answer ${n}` });
          assert.equal(await answer.locator('[data-testid="turn-error"]').count(), 0, `answer ${n} failed`);
          log(`answer ${n}: ${JSON.stringify((await turnText(answer)).slice(0, 80))}`);
        };
        await answered(1);
        await sendPrompt(frame, 'def read_config(path):');
        await answered(2);
        await sendPrompt(frame, 'The main purpose of the module is');
        await answered(3);
        assert.equal(await turns(frame).count(), 6);
        // No turn says that earlier messages were left out, and the log shows what the third answer read.
        const notes = await frame.locator('[data-testid="turn-note"]').allInnerTexts();
        assert.ok(!notes.some((n) => /left out/.test(n)), `a message was left out: ${notes.join(' | ')}`);
        const prompts = [...(extensionLogFile(env.userDataDir) ? fs.readFileSync(extensionLogFile(env.userDataDir), 'utf8').slice(logStart) : '').matchAll(/Prompt: (\d+) messages, .*?, (\d+) earlier left out; it starts "(.*)"/g)];
        assert.equal(prompts.length, 3, 'three prompts in the log');
        const [, messages, dropped, opening] = prompts[2];
        log(`third prompt: ${messages} messages, ${dropped} left out, starts ${JSON.stringify(opening)}`);
        assert.ok(Number(messages) >= 5, `the third prompt has ${messages} messages`); // (and the system prompt, which the template leaves out)
        assert.equal(Number(dropped), 0);
        assert.ok(first && first.startsWith(opening.slice(0, 30)), `the third prompt starts ${JSON.stringify(opening)}, not the first message ${JSON.stringify(first)}`);
        // Plain text for a model that continues text: no code blocks with Copy / Insert.
        assert.equal(await turns(frame, 'assistant').locator('[data-testid="code-copy"]').count(), 0, 'a continuation was rendered as a code block');
        await shot('three-turns');
        const before = (await page.locator('.part.sidebar').boundingBox())?.width;
        if (await sideBarWidth(page, 320)) {
          await page.locator('.part.sidebar').screenshot({ path: path.join(OUT_DIR, 'dev', 'three-turns-sidebar-320.png') });
          if (before) await sideBarWidth(page, before);
        }
      } finally {
        // Restore the harness's answer length and wait for it to be written: closing the Settings editor at once
        // can drop the edit, and the lens test after this one reproduces answers of that length with the CLI.
        const original = settings['moeLens.maxTokens'];
        await setSettingInUi(page, 'moeLens.maxTokens', original ?? 0);
        if (original)
          await until(() => new RegExp(`"moeLens\\.maxTokens":\\s*${original}\\b`).test(fs.readFileSync(env.settingsFile, 'utf8')), { timeout: 10_000, message: 'the answer length restored' });
        await runCommand(page, 'View: Close All Editors');
      }
    },
  },
];

