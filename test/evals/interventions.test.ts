// Suites with expert interventions, on the real engine (Mixtral-style fixture): each prompt variant also runs under
// every intervention as `<variant>+<name>` (an expertsPerToken one reloads the model), the items' documents are
// scored for perplexity under each, the groups and the comparison carry it beside ROUGE, failures and speed, the
// fingerprint includes the interventions, and a bad SPEC in a suite is a file:line error.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { compareRuns, runEval } from '../../extension/evals/runner';
import { loadSuite } from '../../extension/evals/suite';
import { MOE, newEngine } from '../engine/helpers';

const dir = mkdtempSync(path.join(tmpdir(), 'evals-interv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const engine = newEngine();
afterAll(() => engine.dispose());

const DOC = Array.from({ length: 40 }, (_, i) => `Section ${i}. The river authority measured the water level at seven stations every morning.`).join(' ');
function writeSuite(name: string, interventions: string): string {
  writeFileSync(path.join(dir, 'items.jsonl'), [{ id: 'a', document: DOC, summary: 'Water levels were measured.' }, { id: 'b', document: DOC.slice(0, 400), summary: 'Levels.' }].map((x) => JSON.stringify(x)).join('\n') + '\n');
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    ['name: interv', 'items: items.jsonl', 'mode: raw', 'contextSize: 256', 'variants:', '  - name: plain', '    template: "{document}\\nSummary:"',
      'generation:', '  maxTokens: 6', '  temperature: 0', 'longInput:', '  strategy: truncate-middle', interventions].join('\n'),
  );
  return file;
}

describe('suites with interventions', () => {
  it('runs every variant under each intervention beside the baseline, with perplexity in the groups and the comparison', async () => {
    const suite = await loadSuite(writeSuite('ok', ['interventions:', '  - name: no7', '    ablate: "*:7"', '  - name: top1', '    expertsPerToken: 1'].join('\n')));
    expect(suite.interventions?.map((iv) => iv.name)).toEqual(['no7', 'top1']);
    const progress: string[] = [];
    const run = await runEval({ suite, models: [MOE], outDir: path.join(dir, 'run'), engine, loadOptions: { threads: 1 }, onProgress: (p) => p.message && progress.push(p.message) });
    expect(run.info.status).toBe('completed');
    expect(run.info.variants).toEqual(['plain', 'plain+no7', 'plain+top1']);
    expect(run.samples).toHaveLength(6);
    expect(run.samples.every((s) => !s.error)).toBe(true);
    expect(progress.some((m) => /with 1 experts per token/.test(m))).toBe(true);
    const groups = Object.fromEntries(run.summary.groups.map((g) => [g.variant, g]));
    expect(groups['plain+no7'].intervention).toBe('no7');
    expect(groups.plain.intervention).toBeUndefined();
    const ppl = ['plain', 'plain+no7', 'plain+top1'].map((v) => groups[v].perplexity!);
    for (const p of ppl) expect(p).toBeGreaterThan(1);
    // the interventions change the model: three different perplexities
    expect(new Set(ppl).size).toBe(3);
    expect(run.info.perplexity![MOE].baseline.context).toBe(256);
    // the comparison puts perplexity beside ROUGE, failures and speed, one column per intervention
    const comparison = compareRuns([run]);
    expect(comparison.columns.map((c) => c.variant)).toEqual(['plain', 'plain+no7', 'plain+top1']);
    const row = (id: string) => comparison.metrics.find((m) => m.id === id)!;
    expect(row('perplexity').values).toEqual(ppl);
    expect(row('rougeL').values.every((v) => v !== undefined)).toBe(true);
    expect(row('generatedTokensPerSecond').values.every((v) => v! > 0)).toBe(true);
    const report = readFileSync(path.join(dir, 'run', 'report.md'), 'utf8');
    expect(report).toContain('## Interventions');
    expect(report).toMatch(/\| moe-llama \| top1 \| top-1 \| \d+\.\d\d \|/);
    // resumed: nothing to do again, perplexity kept
    const again = await runEval({ suite, models: [MOE], outDir: path.join(dir, 'run'), engine, loadOptions: { threads: 1 } });
    expect(again.info.samples.resumed).toBe(6);
    expect(again.info.perplexity).toEqual(run.info.perplexity);
    // another set of interventions is another fingerprint: the folder is refused
    const other = await loadSuite(writeSuite('other', ['interventions:', '  - name: no7', '    ablate: "*:6"'].join('\n')));
    await expect(runEval({ suite: other, models: [MOE], outDir: path.join(dir, 'run'), engine })).rejects.toThrow(/other settings/);
  });

  it('a bad SPEC or a duplicate name in the suite is a file:line error', async () => {
    await expect(loadSuite(writeSuite('bad', ['interventions:', '  - name: x', '    ablate: "0;9"'].join('\n')))).rejects.toThrow(/bad\.yaml:15: intervention "x": bad --ablate SPEC "0;9"/);
    await expect(loadSuite(writeSuite('dup', ['interventions:', '  - name: x', '    force: "0:1"', '  - name: x', '    force: "0:2"'].join('\n')))).rejects.toThrow(/dup\.yaml:\d+: duplicate intervention name "x"/);
    await expect(loadSuite(writeSuite('none', ['interventions:', '  - name: x'].join('\n')))).rejects.toThrow(/none\.yaml/);
  });
});
