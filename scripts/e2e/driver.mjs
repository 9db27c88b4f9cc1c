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

/** In-page expression: assistant turn number `i` shows streamed text (or has already ended). */
const assistantHasText = (i) => `(() => {
  const turn = document.querySelectorAll('[data-testid="turn"][data-role="assistant"]')[${Number(i)}];
  if (!turn) return false;
  const body = turn.querySelector('.turn-body');
  return (body?.textContent ?? '').trim().length > 0 || !!turn.querySelector('[data-testid="turn-stats"], [data-testid="turn-stopped"], [data-testid="turn-error"]');
})()`;

/**
 * Arms a watch inside the webview that runs `action` (in-page source) the moment assistant turn number
 * `index` shows streamed text: the demo model can finish a short answer within a few of the test's round
 * trips. Resolves once armed (so arm before sending the prompt) with `fired()`, a promise that settles when
 * the action ran or rejects after `timeout` ms. Source strings, not functions: the webview's CSP forbids
 * eval, which function predicates would need.
 */
async function watchFirstText(page, index, action, { timeout = 60_000 } = {}) {
  const frame = await chatFrameHandle(page);
  if (!frame) throw new Error('chat webview frame not found');
  const key = `__moeLensWatch${Date.now()}`;
  await frame.evaluate(`void (window.${key} = new Promise((resolve, reject) => {
    const fire = () => { ${action}; resolve(true); };
    const observer = new MutationObserver(() => {
      if (!${assistantHasText(index)}) return;
      observer.disconnect();
      clearTimeout(timer);
      fire();
    });
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error('no streamed text in assistant turn ${Number(index)} after ${timeout} ms')); }, ${timeout});
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
  }))`);
  return { fired: () => frame.evaluate(`window.${key}`) };
}

/** Arms a watch for the first streamed text of assistant turn number `index` (see watchFirstText). */
export const watchForFirstText = (page, index, options) => watchFirstText(page, index, '', options);

/** Arms a click on Stop at the first streamed text of assistant turn number `index`, the way a user's click lands. */
export const clickStopOnFirstText = (page, index, options) => watchFirstText(page, index, `document.querySelector('[data-testid="stop"]')?.click()`, options);

/**
 * Picks `value` in a webview-ui-toolkit <vscode-dropdown data-testid=testid> the way a user does: open it,
 * click the option. Falls back to the keyboard (focus, Home, ArrowDown to the option, Enter) when the
 * listbox does not open on click.
 */
export async function selectDropdown(frame, testid, value) {
  const dropdown = frame.locator(`vscode-dropdown[data-testid="${testid}"]`);
  const option = dropdown.locator(`vscode-option[value="${value}"]`);
  await dropdown.click();
  try {
    await option.waitFor({ state: 'visible', timeout: 3000 });
    await option.click();
  } catch {
    const values = await dropdown.locator('vscode-option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
    const i = values.indexOf(String(value));
    if (i < 0) throw new Error(`${testid} has no option ${value} (${values.join(', ')})`);
    await dropdown.focus();
    await dropdown.press('Home');
    for (let n = 0; n < i; n++) await dropdown.press('ArrowDown');
    await dropdown.press('Enter');
  }
  await until(async () => (await dropdown.evaluate((el) => String(el.value))) === String(value), { timeout: 5000, message: `${testid} = ${value}` });
}

/**
 * Answers code-server's "simple file dialog" (it has no native one): a quick input holding a proposed path,
 * filled in asynchronously. Waits until the proposal has settled (`accept` says when it is complete), types
 * `filePath` over it and presses Enter. Returns the proposal.
 */
async function answerFileDialog(page, filePath, what, accept, timeout) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout });
  let proposed = '';
  let stable = 0;
  await until(
    async () => {
      const v = await input.inputValue();
      stable = v && v === proposed && accept(v) ? stable + 1 : 0;
      proposed = v;
      return stable >= 3;
    },
    { timeout: 10_000, interval: 150, message: `the ${what} dialog to propose a path` },
  );
  await input.fill(filePath);
  await until(async () => (await input.inputValue()) === filePath, { timeout: 5000, message: `the ${what} dialog to hold ${filePath}` });
  await sleep(300); // the dialog re-reads the folder as the path changes
  await input.press('Enter');
  return proposed;
}

/** Answers an Open dialog with `filePath` (its proposal is a folder). */
export async function answerOpenDialog(page, filePath, { timeout = 15_000 } = {}) {
  await answerFileDialog(page, filePath, 'open', () => true, timeout);
}

/**
 * Answers a save dialog shown by the extension (its proposal is first a folder, then folder + default name);
 * an "already exists" confirmation, if any, is accepted.
 */
export async function answerSaveDialog(page, filePath, { timeout = 15_000 } = {}) {
  const proposed = await answerFileDialog(page, filePath, 'save', (v) => !v.endsWith('/'), timeout);
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 5000 }).catch(() => {});
  const replace = page.locator('.monaco-dialog-box .monaco-button', { hasText: /Replace|Overwrite/ }).first();
  if (await replace.isVisible().catch(() => false)) await replace.click();
  return proposed;
}

/**
 * Sets a user setting through the Settings editor, as a user would (search for its id, type the value, leave
 * the field). Works for number and string settings shown as a text box. Leaves the Settings editor open.
 */
export async function setSettingInUi(page, id, value) {
  const editor = page.locator('.settings-editor');
  if (!(await editor.isVisible().catch(() => false))) {
    await runCommand(page, 'Preferences: Open User Settings');
    await editor.waitFor({ state: 'visible', timeout: 15_000 });
  }
  const search = editor.locator('.suggest-input-container .monaco-editor').first();
  await search.waitFor({ state: 'visible', timeout: 10_000 });
  await search.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(id);
  // The row of the setting (data-key = its id) and its text box.
  const input = editor.locator(`[data-key="${id}"] input.input, [data-key="${id}"] textarea.input`).first();
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.click();
  await input.fill(String(value));
  await input.press('Tab');
}

/** Drags the sash between the side bar and the editor so that the side bar is `width` px wide. */
export async function sideBarWidth(page, width) {
  const bar = await page.locator('.part.sidebar').boundingBox();
  const handle = await page.evaluate(() => {
    const side = document.querySelector('.part.sidebar')?.getBoundingClientRect();
    const sashes = [...document.querySelectorAll('.monaco-sash.vertical')].map((s) => s.getBoundingClientRect());
    const near = sashes.find((r) => side && Math.abs(r.left + r.width / 2 - side.right) < 6);
    return near ? { x: near.left + near.width / 2, y: near.top + near.height / 2 } : undefined;
  });
  if (!bar || !handle) return false;
  await page.mouse.move(handle.x, handle.y);
  await page.mouse.down();
  await page.mouse.move(bar.x + width, handle.y, { steps: 8 });
  await page.mouse.up();
  await sleep(400);
  return true;
}

/** Opens a workspace file by Quick Open (`query`: its name, or its full path for a file written after the start). */
export async function openFile(page, name, query = name) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(query);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ state: 'visible', timeout: 15_000 });
  await input.press('Enter');
  await page.locator(`.tab[aria-label^="${name}"]`).first().waitFor({ state: 'visible', timeout: 15_000 });
}
