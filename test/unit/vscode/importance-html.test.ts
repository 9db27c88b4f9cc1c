// The Expert importance panel's HTML: a heat map cell per (layer, expert) with its value and interval, colour buckets
// relative to the largest change beyond noise (red where ablating hurts, blue where it helps), grey within noise,
// the load maps on their own sequential scale, legends, the hint to use more chunks, escaped text, no script; and
// "Prune by this map" on the demo model's real header: the budgets and maps offered, exactly the planned experts
// marked in each map and listed per layer, size and fit, the nonce'd script, the page's message checked.
import { describe, expect, it } from 'vitest';
import type { ImportanceResult } from '../../../extension/engine/importance';
import type { PlanInput } from '../../../extension/engine/model-file';
import { readGgufLayout } from '../../../extension/engine/prune';
import { importanceBody, importancePage } from '../../../extension/vscode/importance-html';
import { parsePruneChoice, planImportancePrune, type ImportancePrune } from '../../../extension/vscode/importance-prune';

const result: ImportanceResult = {
  model: '<b>toy</b>',
  baseline: { perplexity: 10, stderr: 0.5, tokens: 100, chunks: 2, context: 32 },
  layers: [0, 3],
  experts: 2,
  perplexity: [[12, 9.5], [10, 10]],
  deltaPerplexity: [[2, -0.5], [0, 0.001]],
  reap: [[1.5, 0.2], [0, 3]],
  share: [[0.75, 0.25], [0, 1]],
  deltaLow: [[1.2, -0.9], [-0.1, -0.2]],
  deltaHigh: [[2.9, -0.1], [0.1, 0.2]],
  significant: [[true, true], [false, false]],
  noise: { level: 0.95, method: 'paired t', chunks: 2, withinNoise: 2, cells: 4, moreChunks: true, suggestedChunks: 8, maxChunks: 3 },
  evaluations: 6,
  reused: 4,
  ms: 1500,
};

describe('importance panel html', () => {
  it('has one cell per (layer, expert) with values and colour buckets', () => {
    const body = importanceBody(result, 'notes.txt');
    const cells = [...body.matchAll(/<td class="(\w+)" data-layer="(\d+)" data-expert="(\d+)" data-value="([^"]+)" data-low="([^"]+)" data-high="([^"]+)" data-significant="(\w+)"/g)].map((m) =>
      m.slice(1).join(' '),
    );
    // buckets relative to the largest change beyond noise (2); the within-noise ones grey whatever their size
    expect(cells).toEqual(['p9 0 0 2 1.2 2.9 true', 'n2 0 1 -0.5 -0.9 -0.1 true', 'noise 3 0 0 -0.1 0.1 false', 'noise 3 1 0.001 -0.2 0.2 false']);
    expect(body).toContain('title="layer 3, expert 1: Δ perplexity +0.001 (95% interval -0.200 to +0.200; within noise)"');
    expect(body).toContain('title="layer 0, expert 0: Δ perplexity +2.000 (95% interval +1.200 to +2.900; worse without it)"');
    // one meaning per colour: the Δ legend names red, blue and grey; the load maps use their own scale (q buckets)
    expect(body).toMatch(/data-testid="importance-delta-legend">[\s\S]*worse without the expert[\s\S]*better without it[\s\S]*within noise/);
    const share = [...body.matchAll(/<td class="(\w+)" data-layer="\d+" data-expert="\d+" data-value="[^"]+" title="[^"]*">([^<]*)<\/td>/g)].map((m) => m.slice(1).join(' '));
    expect(share.slice(-4)).toEqual(['q7 75.0%', 'q2 25.0%', 'q0 0.0%', 'q9 100.0%']);
    expect(body).toContain('data-testid="importance-noise-hint">Only 2 chunks; 2 of 4 changes are within noise (their 95% interval contains 0). More chunks narrow the intervals: run it again with 8 chunks or on a longer text.');
    expect(importanceBody({ ...result, noise: { ...result.noise, moreChunks: false } }, 'notes.txt')).not.toContain('importance-noise-hint');
    expect(body).toContain('&lt;b&gt;toy&lt;/b&gt;');
    expect(body).toContain('baseline perplexity 10.0000 ± 0.5000');
    expect(body).toContain('>+2.000<');
    expect(body).toContain('>-0.500<');
    const page = importancePage(result, 'notes.txt', 'vscode-resource:', 'n1');
    expect(page).not.toMatch(/<script/);
    expect(page).toContain('<style nonce="n1">');
  });
});

// The demo's shape (6 MoE layers × 8 experts, top-2): Δ in layer i is ((e + 5i) mod 8) − 2, so its two lowest are the
// experts e with (e + 5i) mod 8 ∈ {0, 1}; REAP rises with e (0 and 1 go first); share falls with e (6 and 7 go first).
const grid = <T,>(f: (i: number, e: number) => T): T[][] => Array.from({ length: 6 }, (_, i) => Array.from({ length: 8 }, (_, e) => f(i, e)));
const demo: ImportanceResult = {
  ...result,
  model: 'demo-moe',
  layers: [0, 1, 2, 3, 4, 5],
  experts: 8,
  perplexity: grid(() => 10),
  deltaPerplexity: grid((i, e) => ((e + 5 * i) % 8) - 2),
  deltaLow: grid((i, e) => ((e + 5 * i) % 8) - 3),
  deltaHigh: grid((i, e) => ((e + 5 * i) % 8) - 1),
  // within noise: the cells whose interval contains 0 (Δ −1, 0, +1)
  significant: grid((i, e) => Math.abs(((e + 5 * i) % 8) - 2) > 1),
  reap: grid((_, e) => e / 10),
  share: grid((_, e) => (8 - e) / 36),
  noise: { ...result.noise, withinNoise: 18, cells: 48 },
};
const DEMO = 'models/demo/demo-moe.gguf';
// A 16 MiB GPU: the demo's experts do not all fit; with half of them gone they do.
const GPU: PlanInput = { backend: 'cuda', gpuLayers: 99, cpuMoe: 'auto', freeVram: 16 * 2 ** 20, contextVram: 0 };
const lowestDelta = (i: number, drop: number) => Array.from({ length: 8 }, (_, e) => e).filter((e) => (e + 5 * i) % 8 < drop);

/** (layer:expert) of the cells of one map that go under `drop`, from the page. */
function marked(body: string, map: string, drop: number): string[] {
  const table = new RegExp(`data-testid="importance-${map}">([\\s\\S]*?)</table>`).exec(body)![1];
  return [...table.matchAll(/<td [^>]*>/g)]
    .filter((m) => (/ data-goes="([\d ]+)"/.exec(m[0])?.[1] ?? '').split(' ').includes(String(drop)))
    .map((m) => /data-layer="(\d+)" data-expert="(\d+)"/.exec(m[0])!.slice(1).join(':'));
}

describe('importance panel: prune by this map', () => {
  it('plans every map × budget on the real header: the lowest-scoring experts go, size and fit after', async () => {
    const prune = planImportancePrune(demo, await readGgufLayout(DEMO), GPU);
    if ('unavailable' in prune) throw new Error(prune.unavailable);
    expect(prune.budgets.map((b) => b.drop)).toEqual([2, 4]);
    expect(prune.choices.map((c) => `${c.by}-${c.drop}`)).toEqual(['delta-2', 'delta-4', 'reap-2', 'reap-4', 'share-2', 'share-4']);
    const by = (id: string) => prune.choices.find((c) => `${c.by}-${c.drop}` === id)!;
    expect(by('delta-2').remove).toEqual(demo.layers.map((i) => lowestDelta(i, 2)));
    expect(by('delta-4').remove).toEqual(demo.layers.map((i) => lowestDelta(i, 4)));
    expect(by('reap-2').remove).toEqual(grid(() => 0).map(() => [0, 1]));
    expect(by('share-4').remove).toEqual(grid(() => 0).map(() => [4, 5, 6, 7]));
    // Δ −2 is beyond noise, −1 within it: one of the two that go in each layer
    expect(by('delta-2').withinNoise).toBe(6);
    expect(by('reap-2').withinNoise).toBeUndefined();
    // the size the writer produces for 6 of 8 experts (as the Prune Experts e2e measures it), smaller again for 4
    expect(by('delta-2').size).toBe(18_785_088);
    expect(by('delta-4').size).toBeLessThan(by('delta-2').size);
    expect(prune.size).toBe(22_925_504);
    expect(prune.fit).toMatch(/^needs the experts of \d+ layers in RAM/);
    expect(by('delta-4').fit).toMatch(/^fits in VRAM/);
  });

  it('renders the budgets and maps, marks exactly the planned experts in each map, lists them per layer', async () => {
    const prune = planImportancePrune(demo, await readGgufLayout(DEMO), GPU);
    if ('unavailable' in prune) throw new Error(prune.unavailable);
    const page = importancePage(demo, 'notes.md', 'vscode-resource:', 'n1', undefined, prune);
    expect(page).toContain('<main data-by="delta" data-drop="2">');
    expect([...page.matchAll(/<input type="radio" name="prune-drop" value="(\d+)"( checked)?> ([^<]+)</g)].map((m) => m.slice(1).join('|'))).toEqual([
      '2| checked|Drop 2 of 8 experts per layer (25 %)',
      '4||Drop 4 of 8 experts per layer (50 %)',
    ]);
    expect([...page.matchAll(/name="prune-by" value="(\w+)"( checked)?> ([^:<]+)/g)].map((m) => m.slice(1).join('|'))).toEqual([
      'delta| checked|Δ perplexity',
      'reap||REAP',
      'share||routing share',
    ]);
    for (const c of prune.choices) {
      const planned = c.remove.flatMap((experts, i) => experts.map((e) => `${demo.layers[i]}:${e}`));
      expect(marked(page, c.by, c.drop)).toEqual(planned);
      // the CSS shows this plan and marks this map's cells for this budget only
      expect(page).toContain(`main[data-by="${c.by}"][data-drop="${c.drop}"] .plan[data-plan="${c.by}-${c.drop}"] { display: block; }`);
      expect(page).toContain(`main[data-by="${c.by}"][data-drop="${c.drop}"] table[data-testid="importance-${c.by}"] td[data-goes~="${c.drop}"]`);
    }
    const plan = /data-plan="delta-2" data-testid="importance-prune-plan">([\s\S]*?)<\/div>/.exec(page)![1];
    expect(plan).toContain('By Δ perplexity, keep 6 of 8 experts per layer. Size: 21.9 MiB → 17.9 MiB. Placement: needs the experts of');
    expect(plan).toContain('6 of the 12 experts that go are within noise (grey)');
    expect([...plan.matchAll(/<li>([^<]+)<\/li>/g)].map((m) => m[1])).toEqual(demo.layers.map((i) => `Layer ${i}: experts ${lowestDelta(i, 2).join(', ')} go`));
    expect(/data-plan="reap-2" data-testid="importance-prune-plan">([\s\S]*?)<\/div>/.exec(page)![1]).not.toContain('within noise');
    expect(page).toContain('data-testid="importance-prune-button">Prune by this…</button>');
    expect(page).toMatch(/<script nonce="n1">[\s\S]*acquireVsCodeApi\(\)[\s\S]*postMessage\(\{ type: 'prune'/);
    expect(page).toContain('script-src &#39;nonce-n1&#39;;');
    expect(page.match(/<script/g)).toHaveLength(1);
  });

  it('escapes, and without plans says why, with no script and no button', () => {
    const odd: ImportancePrune = {
      model: '<i>m</i>.gguf',
      experts: 2,
      size: 100,
      fit: 'fits <b>',
      budgets: [{ share: 0.5, drop: 1 }],
      choices: [{ by: 'delta', drop: 1, remove: [[0], [1]], size: 50, fit: 'a & b' }],
    };
    const page = importancePage(result, 'notes.txt', 'vscode-resource:', 'n1', undefined, odd);
    expect(page).toContain('Write a copy of &lt;i&gt;m&lt;/i&gt;.gguf without');
    expect(page).toContain('Placement: fits &lt;b&gt; → a &amp; b.');
    expect(page).not.toContain('<i>m</i>');
    const none = importancePage(result, 'notes.txt', 'vscode-resource:', 'n1', undefined, { unavailable: 'toy is served by <a server>' });
    expect(none).toContain('data-testid="importance-prune-unavailable">Pruning: toy is served by &lt;a server&gt;.</p>');
    expect(none).not.toMatch(/<script|importance-prune-button|data-goes/);
    expect(none).toContain('<main>');
  });

  it('says the maps do not fit a model of another shape', async () => {
    const prune = planImportancePrune(result, await readGgufLayout(DEMO), GPU);
    expect(prune).toEqual({ unavailable: expect.stringMatching(/^demo-moe\.gguf \(6 MoE layers × 8 experts\) is not the model these maps were measured on/) });
  });

  it("accepts only a map and budget the page was offered", async () => {
    const prune = planImportancePrune(demo, await readGgufLayout(DEMO), GPU);
    expect(parsePruneChoice({ type: 'prune', by: 'reap', drop: 4 }, prune)).toEqual({ by: 'reap', drop: 4 });
    for (const bad of [{ by: 'reap', drop: 3 }, { by: 'reap', drop: '2' }, { by: 'random', drop: 2 }, { by: '__proto__', drop: 2 }, { by: 'toString', drop: 2 }, {}, null, 'prune'])
      expect(parsePruneChoice(bad, prune)).toBeUndefined();
    expect(parsePruneChoice({ by: 'delta', drop: 2 }, { unavailable: 'no' })).toBeUndefined();
    expect(parsePruneChoice({ by: 'delta', drop: 2 }, undefined)).toBeUndefined();
  });
});
