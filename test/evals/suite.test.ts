import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EvalConfigError, loadSuite, parseItems, parseSuite, renderTemplate } from '../../extension/evals/suite';

const dir = mkdtempSync(path.join(tmpdir(), 'evals-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function errorOf(fn: () => Promise<unknown>): Promise<EvalConfigError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EvalConfigError);
    return error as EvalConfigError;
  }
  throw new Error('expected an error');
}

describe('items (JSON Lines)', () => {
  it('reads GovReport records (report, summary as string or list)', async () => {
    const items = await parseItems(
      [
        JSON.stringify({ id: 'GAO_1', report: 'The report text.', summary: 'One summary.' }),
        JSON.stringify({ id: 'CRS_2', report: 'Another report.', summary: ['First.', 'Second.'] }),
      ].join('\n'),
      path.join(dir, 'gov.jsonl'),
    );
    expect(items.map((i) => i.id)).toEqual(['GAO_1', 'CRS_2']);
    expect(items[0].document).toBe('The report text.');
    expect(items[0].references).toEqual(['One summary.']);
    expect(items[1].references).toEqual(['First.', 'Second.']);
    expect(items[1].source.line).toBe(2);
  });

  it('reads LongBench records (context, answers, _id and its other fields)', async () => {
    const line = {
      _id: 'abc123', context: 'Long context.', answers: ['Ref A', 'Ref B'], input: '', length: 2,
      dataset: 'gov_report', language: 'en', all_classes: null,
    };
    const [item] = await parseItems(JSON.stringify(line), path.join(dir, 'lb.jsonl'));
    expect(item).toMatchObject({ id: 'abc123', document: 'Long context.', references: ['Ref A', 'Ref B'] });
  });

  it('reads document/summary/summaries with title, numeric id and no references; blank lines skipped', async () => {
    const items = await parseItems(
      [
        JSON.stringify({ id: 7, title: 'GGUF', document: 'Doc one.', summaries: ['S1', 'S2'], summary: 'S0' }),
        '',
        JSON.stringify({ document: 'Doc two, no id, no reference.' }),
      ].join('\n'),
      path.join(dir, 'plain.jsonl'),
    );
    expect(items[0]).toMatchObject({ id: '7', title: 'GGUF', references: ['S0', 'S1', 'S2'] });
    expect(items[1].id).toBe('plain.jsonl:3');
    expect(items[1].references).toEqual([]);
  });

  it('reads documentPath relative to the items file', async () => {
    write('doc.txt', 'Text from a file.');
    const [item] = await parseItems(JSON.stringify({ id: 'f', documentPath: 'doc.txt' }), path.join(dir, 'x.jsonl'));
    expect(item.document).toBe('Text from a file.');
  });

  it('bad JSON on a line → error naming file and line', async () => {
    const file = write('bad.jsonl', `${JSON.stringify({ document: 'ok' })}\n${JSON.stringify({ document: 'ok2' })}\n{"document": "oops",\n`);
    const e = await errorOf(() => loadSuite(file));
    expect(e.file).toMatch(/bad\.jsonl$/);
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/bad\.jsonl:3: invalid JSON/);
  });

  it('missing document field → error naming the line', async () => {
    const e = await errorOf(() => parseItems(`${JSON.stringify({ document: 'a' })}\n${JSON.stringify({ id: 'x', summary: 's' })}`, 'items.jsonl'));
    expect(e.message).toBe('items.jsonl:2: missing document field (one of "document", "report", "context", "documentPath")');
  });

  it('unknown key → error naming the key and the line', async () => {
    const e = await errorOf(() => parseItems(JSON.stringify({ document: 'a', summry: 'typo' }), 'items.jsonl'));
    expect(e.message).toBe('items.jsonl:1: unknown key "summry" in item');
  });

  it('wrong types and duplicate ids', async () => {
    expect((await errorOf(() => parseItems(JSON.stringify({ document: 5 }), 'i.jsonl'))).message).toMatch(/^i\.jsonl:1: item\.document must be string/);
    expect((await errorOf(() => parseItems('[1,2]', 'i.jsonl'))).message).toBe('i.jsonl:1: each line must be a JSON object');
    const dup = `${JSON.stringify({ id: 'a', document: 'x' })}\n${JSON.stringify({ id: 'a', document: 'y' })}`;
    expect((await errorOf(() => parseItems(dup, 'i.jsonl'))).message).toBe('i.jsonl:2: duplicate id "a" (first on line 1)');
  });
});

describe('suite config', () => {
  write('items.jsonl', `${JSON.stringify({ id: 'one', title: 'Routing', document: 'Experts and routers.', summary: 'Routers pick experts.' })}\n`);

  it('parses YAML with variants, generation, long-input settings and defaults', async () => {
    const file = write(
      'suite.yaml',
      [
        'name: demo',
        'items: items.jsonl',
        'mode: raw',
        'variants:',
        '  - name: plain',
        '    template: "Summarize:\\n\\n{document}"',
        '  - name: intro',
        '    template: "The following document is about {title}. Summarize it.\\n\\n{document}"',
        'generation: { maxTokens: 200, temperature: 0.2, seed: 7 }',
        'longInput: { strategy: map-reduce, chunkTokens: 1000 }',
      ].join('\n'),
    );
    const suite = await loadSuite(file);
    expect(suite.name).toBe('demo');
    expect(suite.mode).toBe('raw');
    expect(suite.items).toHaveLength(1);
    expect(suite.variants.map((v) => v.name)).toEqual(['plain', 'intro']);
    expect(suite.generation).toEqual({ maxTokens: 200, temperature: 0.2, seed: 7 });
    expect(suite.longInput).toMatchObject({ strategy: 'map-reduce', chunkTokens: 1000, chunkOverlap: 0, maxDepth: 3 });
    expect(suite.metrics.stem).toBe(true);
    expect(renderTemplate(suite.variants[1].template, { document: 'D', title: 'routing' })).toBe(
      'The following document is about routing. Summarize it.\n\nD',
    );
  });

  it('parses JSON configs too', async () => {
    const file = write('suite.json', JSON.stringify({ items: ['items.jsonl'], variants: [{ name: 'a', template: '{document}' }] }, null, 2));
    const suite = await loadSuite(file);
    expect(suite.name).toBe('suite');
    expect(suite.mode).toBe('chat');
    expect(suite.longInput.strategy).toBe('truncate-middle');
  });

  it('a .jsonl on its own is a suite with the default variant', async () => {
    const suite = await loadSuite(path.join(dir, 'items.jsonl'));
    expect(suite.variants).toHaveLength(1);
    expect(suite.items[0].id).toBe('one');
  });

  const base = ['items: items.jsonl', 'variants:', '  - name: plain', '    template: "{document}"'];

  it('unknown strategy → error naming the line', async () => {
    const text = [...base, 'longInput:', '  strategy: summarize-everything'].join('\n');
    const e = await errorOf(() => parseSuite(text, path.join(dir, 's1.yaml')));
    expect(e.line).toBe(6);
    expect(e.message).toMatch(/s1\.yaml:6: suite\.longInput\.strategy must be one of "truncate-middle", "map-reduce"/);
  });

  it('unknown key → error naming the key and its line', async () => {
    const text = [...base, 'generation:', '  maxTokens: 10', '  temprature: 0.5'].join('\n');
    const e = await errorOf(() => parseSuite(text, path.join(dir, 's2.yaml')));
    expect(e.message).toMatch(/s2\.yaml:7: unknown key "temprature" in suite\.generation/);
  });

  it('template without {document}, missing items file, bad YAML, duplicate variant', async () => {
    const noDoc = ['items: items.jsonl', 'variants:', '  - name: plain', '    template: "Summarize it"'].join('\n');
    expect((await errorOf(() => parseSuite(noDoc, path.join(dir, 's3.yaml')))).message).toMatch(/s3\.yaml:4: .*must contain the \{document\} placeholder/);
    const missing = ['items: nowhere.jsonl', ...base.slice(1)].join('\n');
    expect((await errorOf(() => parseSuite(missing, path.join(dir, 's4.yaml')))).message).toMatch(/s4\.yaml:1: items file not found: .*nowhere\.jsonl/);
    const badYaml = [...base, 'generation: [unclosed'].join('\n');
    expect((await errorOf(() => parseSuite(badYaml, path.join(dir, 's5.yaml')))).message).toMatch(/s5\.yaml:\d+: invalid YAML/);
    const dup = [...base, '  - name: plain', '    template: "again {document}"'].join('\n');
    expect((await errorOf(() => parseSuite(dup, path.join(dir, 's6.yaml')))).message).toMatch(/s6\.yaml:5: duplicate variant name "plain"/);
  });

  it('errors inside an items file name that file and line', async () => {
    write('broken.jsonl', `${JSON.stringify({ document: 'ok' })}\nnot json\n`);
    const text = ['items: broken.jsonl', ...base.slice(1)].join('\n');
    const e = await errorOf(() => parseSuite(text, path.join(dir, 's7.yaml')));
    expect(e.message).toMatch(/broken\.jsonl:2: invalid JSON/);
  });
});
