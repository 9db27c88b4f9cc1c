// The packaged .vsix, installed with --install-extension: the view works and the demo model answers.
import assert from 'node:assert/strict';
import { chatFrame, sendPrompt, turns, turnText, until } from '../../scripts/e2e/driver.mjs';
import { ROOT } from '../../scripts/e2e/lib.mjs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const phase = 'vsix';

export const tests = [
  {
    name: 'installed .vsix: open the view and get an answer from the demo model',
    timeout: 180_000,
    async run({ page, env, shot }) {
      const installed = fs.readdirSync(env.extensionsDir).filter((d) => d.startsWith('moe-lens.moe-lens-'));
      assert.equal(installed.length, 1, `installed: ${installed.join(', ')}`);
      const dir = path.join(env.extensionsDir, installed[0]);
      assert.ok(!fs.lstatSync(dir).isSymbolicLink(), 'expected a real install, not the dev symlink');
      assert.ok(fs.existsSync(path.join(dir, 'native/build/Release/moe_lens.node')), 'native addon missing from the vsix');
      assert.ok(!fs.existsSync(path.join(dir, 'node_modules/@node-llama-cpp/linux-arm64')), 'other platform binaries packaged');
      // The trained demo model ships inside the vsix, byte for byte the committed one.
      const sha = (f) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
      assert.equal(sha(path.join(dir, 'models/demo/demo-moe.gguf')), sha(path.join(ROOT, 'models/demo/demo-moe.gguf')), 'the packaged demo model');
      // The built-in suite loads from the install: every item's document is there. Its source-file items point
      // into extension/, and those files are the only sources packaged.
      const suiteDir = path.join(dir, 'suites', 'builtin');
      const documents = fs
        .readFileSync(path.join(suiteDir, 'items.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => path.resolve(suiteDir, JSON.parse(l).documentPath));
      for (const d of documents) assert.ok(fs.existsSync(d), `built-in suite document missing from the vsix: ${path.relative(dir, d)}`);
      const sources = fs.existsSync(path.join(dir, 'extension')) ? fs.readdirSync(path.join(dir, 'extension'), { recursive: true }).map((f) => path.join(dir, 'extension', f)).filter((f) => fs.statSync(f).isFile()) : [];
      assert.deepEqual(sources.sort(), documents.filter((d) => d.startsWith(path.join(dir, 'extension') + path.sep)).sort(), 'TypeScript sources packaged');
      const item = page.locator('.activitybar [aria-label^="MoE Lens"]').first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      await item.click();
      const frame = chatFrame(page);
      await frame.locator('[data-testid="app"]').waitFor({ state: 'visible', timeout: 30_000 });
      await sendPrompt(frame, 'Hi from the vsix');
      const assistant = turns(frame, 'assistant').first();
      await until(async () => (await turnText(assistant)).trim().length > 0, {
        timeout: 150_000,
        interval: 100,
        message: 'an answer',
      });
      assert.equal(await assistant.locator('[data-testid="turn-error"]').count(), 0);
      assert.ok(await frame.locator('[data-testid="demo-label"]').isVisible(), 'demo label hidden');
      await shot('vsix-answer');
    },
  },
];
