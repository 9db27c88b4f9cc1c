/**
 * vitest globalSetup: make sure the default GGUF fixtures (fixtures/*.gguf, not the bench model) exist and
 * match their specs. Cheap when they are up to date (a hash of the generator sources and one stat per file).
 */
import { ensureFixtures } from '../scripts/fixtures/generate';

export default function setup(): void {
  const results = ensureFixtures();
  const written = results.filter((r) => r.generated);
  if (written.length) {
    console.log(`[fixtures] generated ${written.map((r) => `${r.name} (${(r.bytes / 1048576).toFixed(1)} MiB)`).join(', ')}`);
  }
}
