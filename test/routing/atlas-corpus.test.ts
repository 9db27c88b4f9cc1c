// The atlas's corpus reader: labels, JSONL, suites, the probe set, and every kind of bad input named and skipped.
import { mkdtempSync, mkdirSync, openSync, closeSync, ftruncateSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeSetPath, readCorpus, type CorpusEntry, type CorpusItem, type CorpusSkip, type LabelBy } from '../../extension/routing/atlas-corpus';

async function read(paths: string[], labelBy?: LabelBy): Promise<{ items: CorpusItem[]; skips: CorpusSkip[] }> {
  const entries: CorpusEntry[] = [];
  for await (const entry of readCorpus(paths, { labelBy })) entries.push(entry);
  return {
    items: entries.flatMap((e) => ('item' in e ? [e.item] : [])),
    skips: entries.flatMap((e) => ('skip' in e ? [e.skip] : [])),
  };
}

function corpus(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-corpus-'));
  mkdirSync(path.join(dir, 'src', 'lib'), { recursive: true });
  mkdirSync(path.join(dir, 'docs'));
  mkdirSync(path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'src', 'main.py'), 'print("hi")\n');
  writeFileSync(path.join(dir, 'src', 'lib', 'util.js'), 'export const x = 1;\n');
  writeFileSync(path.join(dir, 'docs', 'guide.md'), '# Guide\n\nRead me.\n');
  writeFileSync(path.join(dir, 'node_modules', 'dep.js'), 'ignored();\n');
  writeFileSync(path.join(dir, '.hidden.txt'), 'ignored\n');
  return dir;
}

describe('atlas corpus', () => {
  it('labels files by extension (default) or folder; skips hidden files and node_modules', async () => {
    const dir = corpus();
    const byExt = await read([dir]);
    expect(byExt.skips).toEqual([]);
    expect(byExt.items.map((i) => [i.id, i.label])).toEqual([
      [path.join('docs', 'guide.md'), 'md'],
      [path.join('src', 'lib', 'util.js'), 'js'],
      [path.join('src', 'main.py'), 'py'],
    ]);
    expect(byExt.items[0]).toMatchObject({ text: '# Guide\n\nRead me.\n', source: { file: path.join(dir, 'docs', 'guide.md'), line: 1, textLines: true } });
    const byFolder = await read([dir], 'folder');
    expect(byFolder.items.map((i) => i.label)).toEqual(['docs', 'src/lib', 'src']);
  });

  it('JSONL: text, label and id fields; the file name labels items without one; lines are sources', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-jsonl-'));
    const file = path.join(dir, 'set.jsonl');
    writeFileSync(file, '{"text":"a b","label":"prose","id":"p1"}\n\n{"text":"x=1"}\r\n');
    const { items, skips } = await read([file]);
    expect(skips).toEqual([]);
    expect(items).toEqual([
      { id: 'p1', label: 'prose', text: 'a b', source: { file, line: 1 } },
      { id: 'set.jsonl:3', label: 'jsonl', text: 'x=1', source: { file, line: 3 } },
    ]);
    expect((await read([file], 'ext')).items.map((i) => i.label)).toEqual(['jsonl', 'jsonl']);
  });

  it('an eval suite: its documents, labelled with the suite name', async () => {
    const { items, skips } = await read([path.join(__dirname, '..', '..', 'suites', 'builtin', 'suite.yaml')]);
    expect(skips).toEqual([]);
    expect(items.length).toBe(5);
    for (const item of items) {
      expect(item.label).toBe('suite:builtin');
      expect(item.text.length).toBeGreaterThan(1000);
    }
  });

  it('the probe set: six kinds of text, four items each, every line valid', async () => {
    const { items, skips } = await read([probeSetPath()]);
    expect(skips).toEqual([]);
    const labels = new Map<string, number>();
    for (const item of items) labels.set(item.label, (labels.get(item.label) ?? 0) + 1);
    expect(Object.fromEntries(labels)).toEqual({ prose: 4, python: 4, javascript: 4, shell: 4, markdown: 4, numbers: 4 });
    expect(readFileSync(probeSetPath(), 'utf8').trim().split('\n')).toHaveLength(24);
  });

  it('each bad input is named (file and line) and skipped; the good ones are still read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-bad-'));
    const at = (name: string) => path.join(dir, name);
    writeFileSync(at('good.txt'), 'Some good text.\n');
    writeFileSync(at('binary.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01]));
    writeFileSync(at('latin1.txt'), Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'));
    writeFileSync(at('empty.txt'), '  \n\n');
    writeFileSync(at('items.jsonl'), '{"text":"fine","label":"a"}\n{"text": oops}\n["not an object"]\n{"text":"   "}\n{"label":"no text"}\n{"text":"also fine"}\n');
    // 300 MB, sparse: skipped from its size, never read
    const fd = openSync(at('huge.txt'), 'w');
    ftruncateSync(fd, 300 * 1024 * 1024);
    closeSync(fd);
    const { items, skips } = await read([dir, at('missing.txt')]);
    expect(items.map((i) => i.text)).toEqual(['Some good text.\n', 'fine', 'also fine']);
    const described = skips.map((s) => `${path.basename(s.file)}${s.line ? `:${s.line}` : ''}: ${s.reason}`);
    expect(described).toEqual([
      'binary.bin: binary (it holds NUL bytes)',
      'empty.txt: empty text',
      expect.stringMatching(/^huge\.txt: too large \(300\.0 MiB; the limit is 8\.0 MiB/),
      expect.stringMatching(/^items\.jsonl:2: invalid JSON/),
      'items.jsonl:3: not an object with a "text" string',
      'items.jsonl:4: empty text',
      'items.jsonl:5: not an object with a "text" string',
      'latin1.txt: not UTF-8 text',
      'missing.txt: cannot read it (ENOENT)',
    ]);
  });

  it('a non-UTF-8 JSONL line is skipped by its line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-jsonl8-'));
    const file = path.join(dir, 'x.jsonl');
    writeFileSync(file, Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
    const { items, skips } = await read([file]);
    expect(items.map((i) => i.text)).toEqual(['ok']);
    expect(skips).toEqual([{ file, line: 2, reason: 'not UTF-8 text' }]);
  });
});
