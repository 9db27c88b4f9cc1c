// The routing atlas's corpus: files and folders, JSONL of {"text", "label"?, "id"?}, eval suites, and the built-in
// probe set. Items are read lazily, one file at a time; bad input is named (file and line) and skipped. Pure Node fs.
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { loadSuite } from '../evals/suite';
import { packageRoot } from '../engine/native';

/** How an item is labelled: its file's extension, its file's folder, or (JSONL) its "label" field. */
export type LabelBy = 'ext' | 'folder' | 'field';

export interface CorpusItem {
  id: string;
  label: string;
  text: string;
  /** The file and the 1-based line where the text starts; `textLines` when the text is the file's own (its lines are the file's). */
  source: { file: string; line: number; textLines?: boolean };
}

export interface CorpusSkip {
  file: string;
  line?: number;
  reason: string;
}

export type CorpusEntry = { item: CorpusItem } | { skip: CorpusSkip };

export interface CorpusOptions {
  /** Default: the "label" field for JSONL items that have one, the extension otherwise. */
  labelBy?: LabelBy;
  /** Plain files (and JSONL lines) larger than this are skipped (default 8 MiB). */
  maxFileBytes?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;

/** The built-in probe set: short original texts of six kinds (probes/atlas-probes.jsonl). */
export function probeSetPath(): string {
  return path.join(packageRoot(), 'probes', 'atlas-probes.jsonl');
}

const SUITE_EXTENSIONS = new Set(['.yaml', '.yml']);
/** Folders a walk does not enter. */
const SKIPPED_FOLDERS = new Set(['node_modules', '.git']);

/** Every item of the corpus paths, in order (folders walked in name order), and every skipped input. */
export async function* readCorpus(paths: string[], options: CorpusOptions = {}): AsyncGenerator<CorpusEntry> {
  for (const p of paths) {
    const abs = path.resolve(p);
    let info;
    try {
      info = await stat(abs);
    } catch (error) {
      yield { skip: { file: p, reason: `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` } };
      continue;
    }
    if (info.isDirectory()) yield* walk(abs, abs, options);
    else yield* readFile(abs, path.dirname(abs), options);
  }
}

async function* walk(dir: string, root: string, options: CorpusOptions): AsyncGenerator<CorpusEntry> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    yield { skip: { file: dir, reason: `cannot read the folder (${(error as NodeJS.ErrnoException).code})` } };
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full, root, options);
    else if (entry.isFile()) yield* readFile(full, root, options);
  }
}

/** The label of a file's items under ext/folder labelling. */
function fileLabel(file: string, root: string, labelBy: LabelBy | undefined): string {
  if (labelBy === 'folder') {
    const folder = path.relative(root, path.dirname(file));
    return folder === '' ? path.basename(path.dirname(file)) : folder.split(path.sep).join('/');
  }
  const ext = path.extname(file).slice(1).toLowerCase();
  return ext || '(no extension)';
}

async function* readFile(file: string, root: string, options: CorpusOptions): AsyncGenerator<CorpusEntry> {
  const max = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl') {
    yield* readJsonl(file, root, options, max);
    return;
  }
  if (SUITE_EXTENSIONS.has(ext)) {
    let suite;
    try {
      suite = await loadSuite(file);
    } catch (error) {
      yield { skip: { file, reason: `not an eval suite: ${(error as Error).message}` } };
      return;
    }
    for (const item of suite.items) {
      if (item.document.trim() === '') yield { skip: { file: item.source.file, line: item.source.line, reason: 'empty text' } };
      else yield { item: { id: item.id, label: `suite:${suite.name}`, text: item.document, source: item.source } };
    }
    return;
  }
  const text = await readText(file, max);
  if (typeof text !== 'string') {
    yield { skip: { file, reason: text.reason } };
    return;
  }
  if (text.trim() === '') {
    yield { skip: { file, reason: 'empty text' } };
    return;
  }
  const label = fileLabel(file, root, options.labelBy);
  yield { item: { id: path.relative(root, file) || path.basename(file), label, text, source: { file, line: 1, textLines: true } } };
}

/** A file's text, or why it is not one: unreadable, too large, binary (a NUL byte) or not UTF-8. */
async function readText(file: string, max: number): Promise<string | { reason: string }> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    if (size > max) return { reason: `too large (${formatMiB(size)}; the limit is ${formatMiB(max)}: split it, or give it as JSONL)` };
    const bytes = await handle.readFile();
    return decodeText(bytes);
  } catch (error) {
    return { reason: `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  } finally {
    await handle?.close();
  }
}

function decodeText(bytes: Uint8Array): string | { reason: string } {
  if (bytes.indexOf(0) >= 0) return { reason: 'binary (it holds NUL bytes)' };
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { reason: 'not UTF-8 text' };
  }
}

const formatMiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function* readJsonl(file: string, root: string, options: CorpusOptions, max: number): AsyncGenerator<CorpusEntry> {
  const fallback = fileLabel(file, root, options.labelBy === 'folder' ? 'folder' : 'ext');
  const stream = createReadStream(file);
  let failed: string | undefined;
  stream.on('error', (error) => (failed = (error as NodeJS.ErrnoException).code ?? error.message));
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      if (raw.trim() === '') continue;
      if (raw.length > max) {
        yield { skip: { file, line, reason: `line too large (${formatMiB(raw.length)})` } };
        continue;
      }
      if (raw.includes('\uFFFD')) {
        yield { skip: { file, line, reason: 'not UTF-8 text' } };
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch (error) {
        yield { skip: { file, line, reason: `invalid JSON (${(error as Error).message})` } };
        continue;
      }
      const rec = value as Record<string, unknown>;
      if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof rec.text !== 'string') {
        yield { skip: { file, line, reason: 'not an object with a "text" string' } };
        continue;
      }
      if ((rec.text as string).trim() === '') {
        yield { skip: { file, line, reason: 'empty text' } };
        continue;
      }
      const own = typeof rec.label === 'string' && rec.label !== '' ? rec.label : undefined;
      const label = options.labelBy === undefined || options.labelBy === 'field' ? (own ?? fallback) : fallback;
      const id = typeof rec.id === 'string' || typeof rec.id === 'number' ? String(rec.id) : `${path.basename(file)}:${line}`;
      yield { item: { id, label, text: rec.text as string, source: { file, line } } };
    }
  } catch (error) {
    failed ??= (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  if (failed) yield { skip: { file, ...(line ? { line } : {}), reason: `cannot read it (${failed})` } };
}
