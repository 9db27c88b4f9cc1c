// Chat with servers from real VS Code: Select Model → Connect to a server… against a real llama-server (built from
// the bundled llama.cpp, on the demo model) — the answer streams, the status bar names the server, the lens says
// why there is no routing — then against `moe-lens serve` on a generated MoE fixture: the lens shows the answer's
// tokens coloured by expert. Both servers run on 127.0.0.1 on free ports and are stopped at the end.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { openChat, runCommand, sendPrompt, turns, until } from '../../scripts/e2e/driver.mjs';
import { ROOT, freePort, sleep } from '../../scripts/e2e/lib.mjs';
import { binDir, buildTools } from '../../scripts/llama-tools.mjs';

export const phase = 'dev';

const servers = [];

async function startServer(command, args, env, port) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
  servers.push(child);
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true, { timeout: 60_000, interval: 200, message: `${command} at ${url}` });
  return url;
}

function stopServers() {
  for (const child of servers.splice(0)) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Select Model → Connect to a server…: the address, no API key, the server's only model. */
async function connect(page, url) {
  await runCommand(page, 'MoE Lens: Select Model');
  const pick = page.locator('.quick-input-widget');
  await pick.locator('.monaco-list-row', { hasText: 'Connect to a server' }).click();
  const input = pick.locator('input');
  await until(async () => /address/.test(await pick.innerText()), { timeout: 10_000, message: 'the address box' });
  await input.fill(url);
  await input.press('Enter');
  await until(async () => /API key/.test(await pick.innerText()), { timeout: 10_000, message: 'the API key box' });
  await input.press('Enter');
  const toast = page.locator('.notification-toast', { hasText: 'connected to' }).first();
  await toast.waitFor({ state: 'visible', timeout: 30_000 });
  return toast.innerText();
}

async function answer(frame, prompt, index) {
  await sendPrompt(frame, prompt);
  const assistant = turns(frame, 'assistant').nth(index);
  await assistant.waitFor({ state: 'visible', timeout: 20_000 });
  await assistant.locator('[data-testid="turn-stats"]').waitFor({ state: 'visible', timeout: 120_000 });
  assert.equal(await assistant.locator('[data-testid="turn-error"]').count(), 0, 'the answer has an error');
  return assistant;
}

export const tests = [
  {
    name: 'connect to a llama-server and chat: streamed answer, server in the status bar, the lens says why there is no routing',
    timeout: 240_000,
    async run(t) {
      try {
        await chatWithLlamaServer(t);
      } finally {
        stopServers();
      }
    },
  },
  {
    name: 'connect to moe-lens serve and see the lens: the answer tokens coloured by expert',
    timeout: 240_000,
    async run(t) {
      try {
        await lensWithMoeLensServe(t);
      } finally {
        stopServers();
      }
    },
  },
];

async function chatWithLlamaServer({ page, shot, log }) {
  buildTools(['llama-server']);
  const port = await freePort();
  const bin = binDir();
  const url = await startServer(
    path.join(bin, 'llama-server'),
    ['-m', path.join(ROOT, 'models', 'demo', 'demo-moe.gguf'), '--host', '127.0.0.1', '--port', String(port), '-t', '1', '-c', '512', '--no-warmup'],
    { LD_LIBRARY_PATH: bin },
    port,
  );
  const message = await connect(page, url);
  log(message.replace(/\s+/g, ' '));
  assert.match(message, /\(llama\.cpp\): no routing · text only · exact token counts/);
  const frame = await openChat(page);
  await frame.locator('[data-testid="new-chat"]').click();
  const assistant = await answer(frame, 'The router picks', 0);
  const text = (await assistant.locator('[data-testid="turn-text"]').innerText()).trim();
  assert.ok(text.length > 0, 'empty answer');
  await until(async () => (await page.locator('.statusbar').innerText()).includes(`@ 127.0.0.1:${port}`), { timeout: 10_000, message: 'the server in the status bar' });
  // The Lens button toggles the panel (an earlier test may have left it open).
  const lens = frame.locator('[data-testid="lens"]');
  await frame.locator('[data-testid="lens-toggle"]').click();
  if (!(await lens.isVisible())) await frame.locator('[data-testid="lens-toggle"]').click();
  await lens.waitFor({ state: 'visible', timeout: 10_000 });
  await until(async () => (await lens.getAttribute('data-state')) === 'no-routing', { timeout: 10_000, message: 'the lens in the no-routing state' });
  assert.match(await frame.locator('[data-testid="lens-status"]').innerText(), /does not report which experts the router chose/);
  assert.ok(await frame.locator('[data-testid="lens-status"]').isVisible(), 'the reason is not shown');
  await shot('remote-llama-server-chat');
  await frame.locator('[data-testid="lens-close"]').click().catch(() => {});
}

async function lensWithMoeLensServe({ page, shot, log }) {
  const port = await freePort();
  const url = await startServer(process.execPath, [path.join(ROOT, 'bin', 'moe-lens.js'), 'serve', path.join(ROOT, 'fixtures', 'moe-llama.gguf'), '--port', String(port)], { MOE_LENS_THREADS: '1' }, port);
  const message = await connect(page, url);
  log(message.replace(/\s+/g, ' '));
  assert.match(message, /\(moe-lens\): routing ids \+ gate weights · token ids · exact token counts/);
  const frame = await openChat(page);
  await frame.locator('[data-testid="new-chat"]').click();
  const assistant = await answer(frame, 'Experts and routers', 0);
  const toggle = assistant.locator('[data-testid="turn-lens-toggle"]');
  if ((await toggle.getAttribute('aria-pressed')) !== 'true') await toggle.click();
  await until(async () => (await assistant.locator('[data-testid="token"]').count()) > 0, { timeout: 10_000, message: 'routed tokens' });
  const experts = await assistant.locator('[data-testid="token"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-expert')));
  assert.ok(experts.length > 0 && experts.every((e) => e !== null && Number(e) >= 0 && Number(e) < 8), `tokens without an expert: ${experts.join(',')}`);
  // Selecting a token opens the lens on its grid.
  await assistant.locator('[data-testid="token"]').first().click();
  const lens = frame.locator('[data-testid="lens"]');
  await lens.waitFor({ state: 'visible', timeout: 10_000 });
  await until(async () => (await lens.getAttribute('data-state')) === 'ok', { timeout: 10_000, message: 'the lens in the ok state' });
  await frame.locator('[data-testid="token-grid"]').waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok((await frame.locator('[data-testid="grid-cell"][data-rank]').count()) > 0, 'no chosen cells in the grid');
  await shot('remote-moe-lens-serve-lens');
  log(`${experts.length} tokens coloured by expert`);
  // Back to the demo model, and the servers stop.
  await runCommand(page, 'MoE Lens: Select Model');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'MoE Lens demo' }).click();
  await sleep(500);
}

process.on('exit', stopServers);
