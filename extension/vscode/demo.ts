// The built-in demo model: generated (pure TS, bundled) into global storage on first use.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODEL_SPECS, buildModelFile } from '../../scripts/fixtures/models';
import { writeGguf } from '../../scripts/fixtures/gguf-writer';

export const DEMO_MODEL_NAME = 'demo-moe';

function specKey(): string {
  const spec = MODEL_SPECS[DEMO_MODEL_NAME];
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
}

export function demoModelPath(storageDir: string): string {
  return path.join(storageDir, 'models', `${DEMO_MODEL_NAME}.gguf`);
}

let pending: Promise<string> | undefined;

/** Writes the demo GGUF into `storageDir/models` unless an up-to-date copy is there; returns its path. */
export function ensureDemoModel(storageDir: string, log?: (message: string) => void): Promise<string> {
  pending ??= (async () => {
    const file = demoModelPath(storageDir);
    const stamp = `${file}.spec`;
    const key = specKey();
    try {
      if (fs.existsSync(file) && fs.readFileSync(stamp, 'utf8') === key) return file;
    } catch {
      // regenerate
    }
    const started = Date.now();
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    // Let the event loop breathe before the (synchronous, ~1 s) write.
    await new Promise((r) => setImmediate(r));
    const bytes = writeGguf(file, buildModelFile(MODEL_SPECS[DEMO_MODEL_NAME]));
    fs.writeFileSync(stamp, key);
    log?.(`Wrote the demo model ${file} (${(bytes / 1048576).toFixed(1)} MiB) in ${Date.now() - started} ms`);
    return file;
  })().finally(() => {
    pending = undefined;
  });
  return pending;
}
