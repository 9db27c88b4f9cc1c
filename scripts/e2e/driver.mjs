// Page-level helpers for driving the VS Code workbench served by code-server.
import { EXTENSION_ID, sleep } from './lib.mjs';

export async function waitForWorkbench(page, timeout = 60_000) {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout });
  await page.locator('.part.activitybar, .activitybar').first().waitFor({ state: 'visible', timeout });
  await page.locator('.statusbar').waitFor({ state: 'visible', timeout });
  // The extension's contributions are registered once its activity bar container shows.
  await page.locator('.activitybar [aria-label^="MoE Lens"]').first().waitFor({ state: 'visible', timeout });
}

/** Runs a command from the palette by its full title ("MoE Lens: New Chat"); retries while contributions load. */
export async function runCommand(page, title, { timeout = 30_000 } = {}) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 }, force: true }).catch(() => {});
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`);
      await row.waitFor({ state: 'visible', timeout: 5000 });
      break;
    } catch (error) {
      if (Date.now() - started > timeout) throw new Error(`command "${title}" not found in the palette (${attempt} tries): ${error.message}`);
      await sleep(1000);
    }
  }
  await sleep(150);
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
}

/** The chat webview view's inner document. */
export function chatFrame(page) {
  return page
    .frameLocator(`iframe.webview[src*="extensionId=${EXTENSION_ID}"][src*="purpose=webviewView"]`)
    .frameLocator('iframe#active-frame');
}

/** The inner Frame of one of the extension's webview panels (not the sidebar view) holding `selector`. */
export async function panelFrame(page, selector, { timeout = 30_000 } = {}) {
  return until(
    async () => {
      for (const f of page.frames()) {
        const parent = f.parentFrame();
        if (!parent || !parent.url().includes(`extensionId=${EXTENSION_ID}`) || parent.url().includes('purpose=webviewView')) continue;
        if (await f.locator(selector).count().catch(() => 0)) return f;
      }
      return undefined;
    },
    { timeout, message: `a webview panel with ${selector}` },
  );
}

export async function openChat(page) {
  await runCommand(page, 'MoE Lens: Open Chat');
  const frame = chatFrame(page);
  await frame.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 30_000 });
  return frame;
}

/** Types into the chat input and sends with Enter. */
export async function sendPrompt(frame, text) {
  const input = frame.locator('[data-testid="chat-input"] textarea, textarea[data-testid="chat-input"]').first();
  const host = frame.locator('[data-testid="chat-input"]');
  if (await input.count()) {
    await input.click();
    await input.fill(text);
    await input.press('Enter');
  } else {
    await host.click();
    await host.pressSequentially(text);
    await host.press('Enter');
  }
}

export function turns(frame, role) {
  return frame.locator(role ? `[data-testid="turn"][data-role="${role}"]` : '[data-testid="turn"]');
}

/** Polls fn until it returns a truthy value (or throws the last error after timeout). */
export async function until(fn, { timeout = 30_000, interval = 200, message = 'condition' } = {}) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? `: ${last.message}` : ''}`);
    await sleep(interval);
  }
}

/** The visible text of a turn's body (while streaming, the webview keeps the tail outside turn-text). */
export async function turnText(turn) {
  return (await turn.locator('.turn-body').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
}

/** The chat view's inner Frame (for evaluate); undefined until it is loaded. */
export async function chatFrameHandle(page) {
  for (const f of page.frames()) {
    const parent = f.parentFrame();
    if (!parent || !parent.url().includes(`extensionId=${EXTENSION_ID}`) || !parent.url().includes('purpose=webviewView')) continue;
    if (await f.locator('[data-testid="app"]').count().catch(() => 0)) return f;
  }
  return undefined;
}

/**
 * Records, on every DOM mutation in the chat webview, the text length of assistant turn number `index`
 * (0-based) and whether it has finished, so a test can tell a streamed answer from one that appeared at once.
 */
export async function recordStreaming(page, index) {
  const frame = await chatFrameHandle(page);
  if (!frame) throw new Error('chat webview frame not found');
  await frame.evaluate((i) => {
    const log = [];
    window.__moeLensStream = log;
    const sample = () => {
      const turn = document.querySelectorAll('[data-testid="turn"][data-role="assistant"]')[i];
      if (!turn) return;
      const body = turn.querySelector('.turn-body');
      log.push({ len: body ? body.textContent.length : 0, done: !!turn.querySelector('[data-testid="turn-stats"], [data-testid="turn-stopped"], [data-testid="turn-error"]') });
    };
    new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, index);
  return async () => frame.evaluate(() => window.__moeLensStream ?? []);
}
