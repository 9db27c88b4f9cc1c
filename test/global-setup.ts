/**
 * vitest globalSetup: make sure the default GGUF fixtures (fixtures/*.gguf, not the bench model) exist and
 * match their specs. Cheap when they are up to date (a hash of the generator sources and one stat per file).
 * Also llama.cpp's llama-server for test/remote and the engine contract: built once per llama.cpp release into a
 * cache outside the repository (~25 min on 2 cores the first time, then a stat), here rather than in a hook so
 * that no hook timeout applies.
 */
import { ensureFixtures } from '../scripts/fixtures/generate';
import { llamaToolsBin } from './remote/servers';

export default function setup(): void {
  const results = ensureFixtures();
  const written = results.filter((r) => r.generated);
  if (written.length) {
    console.log(`[fixtures] generated ${written.map((r) => `${r.name} (${(r.bytes / 1048576).toFixed(1)} MiB)`).join(', ')}`);
  }
  llamaToolsBin();
}
