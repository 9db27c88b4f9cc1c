// The chat, the lens (a message that mixes code and prose, coloured by expert) and the token grid as a user
// sees them in the four theme kinds, at 1400×900 and in a 320 px sidebar. Screenshots land in
// test-output/e2e/dev/theme-*.png; the checks are that everything is there and readable text has contrast.
import assert from 'node:assert/strict';
import { chatFrame, openChat, runCommand, sendPrompt, sideBarWidth, turns, until } from '../../scripts/e2e/driver.mjs';
import { OUT_DIR, sleep } from '../../scripts/e2e/lib.mjs';
import * as path from 'node:path';

export const phase = 'dev';

const THEMES = [
  ['dark', 'Dark Modern'],
  ['light', 'Light Modern'],
  ['hc-dark', 'Dark High Contrast'],
  ['hc-light', 'Light High Contrast'],
];

/** Through the Settings editor's workbench.colorTheme dropdown (the theme picker starts a marketplace search). */
async function setTheme(page, name) {
  const editor = page.locator('.settings-editor');
  if (!(await editor.isVisible().catch(() => false))) {
    await runCommand(page, 'Preferences: Open User Settings');
    await editor.waitFor({ state: 'visible', timeout: 15_000 });
    const search = editor.locator('.suggest-input-container .monaco-editor').first();
    await search.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('workbench.colorTheme');
  }
  const select = editor.locator('[data-key="workbench.colorTheme"] select').first();
  await select.waitFor({ state: 'visible', timeout: 10_000 });
  await select.selectOption({ label: name });
  // The workbench's class names the theme kind ('vs' is light, so compare whole class names).
  await until(async () => ((await page.locator('.monaco-workbench').getAttribute('class')) ?? '').split(/\s+/).includes(THEME_CLASS[name]), { timeout: 10_000, message: `the ${name} theme` });
  // The settings editor opens over the chat (a modal in this VS Code): close it before looking.
  await runCommand(page, 'View: Close All Editors');
  await editor.waitFor({ state: 'hidden', timeout: 10_000 });
  await sleep(800); // the webview restyles after the theme change reaches it
}

const THEME_CLASS = { 'Dark Modern': 'vs-dark', 'Light Modern': 'vs', 'Dark High Contrast': 'hc-black', 'Light High Contrast': 'hc-light' };

/** WCAG contrast of two [r, g, b] colours (0–255). */
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** In the page: a token's text colour and what is behind it, translucent tints composited as painted (canvas). */
function tokenColours(el) {
  const ctx = document.createElement('canvas').getContext('2d');
  const paint = (colours) => {
    ctx.clearRect(0, 0, 1, 1);
    for (const c of colours) {
      ctx.fillStyle = c;
      ctx.fillRect(0, 0, 1, 1);
    }
    return [...ctx.getImageData(0, 0, 1, 1).data.slice(0, 3)];
  };
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && c !== 'rgba(0, 0, 0, 0)') layers.unshift(c);
  }
  const bg = paint(['#fff', ...layers]);
  return { fg: paint([`rgb(${bg.join(',')})`, getComputedStyle(el).color]), bg, css: getComputedStyle(el).color };
}

export const tests = [
  {
    name: 'themes: chat, lens and token grid in dark, light and both high-contrast themes, wide and in a 320 px sidebar',
    timeout: 240_000,
    async run({ page }) {
      const frame = await openChat(page);
      await runCommand(page, 'MoE Lens: New Chat');
      await frame.locator('[data-testid="transcript-empty"]').waitFor({ state: 'visible', timeout: 15_000 });
      await sendPrompt(frame, 'To open a file in Python, call `open(path)` and then read its lines:\n\n```python\nwith open(path) as f:\n    lines = f.readlines()\n```\n\nThe lines are');
      const assistant = turns(frame, 'assistant').last();
      await until(async () => (await assistant.locator('[data-testid="turn-stats"], [data-testid="turn-error"]').count()) > 0, { timeout: 120_000, message: 'the answer' });
      // The user's message as tokens, in the lens, with one token's grid.
      const user = turns(frame, 'user').last();
      // Bring the question back into view (the transcript followed the answer), as a user scrolls up to it.
      await user.evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await sleep(300);
      const toggle = user.locator('[data-testid="turn-lens-toggle"]');
      await until(async () => {
        if ((await toggle.getAttribute('aria-pressed')) !== 'true') await toggle.click({ force: true });
        return (await user.locator('[data-testid="token"]').count()) > 6;
      }, { timeout: 20_000, message: "the question's tokens" });
      await user.locator('[data-testid="token"]').nth(6).click({ force: true });
      // The question's own tokens are told from the template's (the BOS here; no system prompt for the demo).
      assert.match(await user.locator('[data-testid="prompt-segments"]').innerText(), /^\d+ tokens of your message · 1 chat template \(dimmed\)$/);
      assert.equal(await user.locator('[data-testid="token"]').first().getAttribute('data-seg'), 'template');
      const own = await user.locator('[data-testid="token"][data-seg="message"]').allInnerTexts();
      assert.ok(own.join('').includes('open(path)'), 'the message tokens spell the message');
      await frame.locator('[data-testid="token-grid"]').waitFor({ state: 'visible', timeout: 10_000 });
      const shots = [];
      for (const [id, name] of THEMES) {
        await setTheme(page, name);
        await page.setViewportSize({ width: 1400, height: 900 });
        const file = path.join(OUT_DIR, 'dev', `theme-${id}-1400.png`);
        await page.screenshot({ path: file });
        shots.push(file);
        // Inline code and token chips keep their text readable against what is behind them.
        // Token text stays readable on its expert tint (a message token, not a dimmed template one).
        const colours = await chatFrame(page).locator('[data-testid="token"][data-seg="message"]').first().evaluate(tokenColours);
        const ratio = contrast(colours.fg, colours.bg);
        assert.ok(ratio >= 4.5, `${name}: token text contrast ${ratio.toFixed(2)} (${colours.css} on rgb(${colours.bg.join(', ')}))`);
      }
      assert.ok(await sideBarWidth(page, 320), 'the side bar sash was not found');
      for (const [id, name] of THEMES) {
        await setTheme(page, name);
        const file = path.join(OUT_DIR, 'dev', `theme-${id}-320.png`);
        await page.locator('.part.sidebar').screenshot({ path: file });
        shots.push(file);
        const header = await chatFrame(page).locator('[data-testid="model-name"]').innerText();
        assert.equal(header.trim(), 'MoE Lens demo', `${name} at 320 px: the model name reads "${header}"`);
      }
      await setTheme(page, 'Dark Modern');
      assert.equal(shots.length, 8);
    },
  },
];
