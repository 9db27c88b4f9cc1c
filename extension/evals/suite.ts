// Suite files: a YAML or JSON config naming JSON Lines item files, prompt variants, generation settings and the
// long-input strategy. Validated against schemas/eval-suite.schema.json and schemas/eval-items.schema.json; every
// error names the file and the line. Files are read asynchronously (suites load on the extension host).

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import { parseDocument, LineCounter, isMap, isPair, isScalar, type Node } from 'yaml';
import suiteSchema from '../../schemas/eval-suite.schema.json';
import itemsSchema from '../../schemas/eval-items.schema.json';
import type { EvalItem, EvalSuite, GenerationSettings, LongInputConfig, MetricSettings, PromptVariant, SuiteIntervention } from './types';
import { isEngineError } from '../engine/errors';
import { parseInterventionSpec } from '../engine/intervention';

/** A malformed suite or items file. The message starts with `file:line:`. */
export class EvalConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${detail}`);
    this.name = 'EvalConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSuite = ajv.compile(suiteSchema);
const validateItem = ajv.compile(itemsSchema);

export const DEFAULT_GENERATION: GenerationSettings = { maxTokens: 512, temperature: 0, seed: 1 };
export const DEFAULT_LONG_INPUT: LongInputConfig = { strategy: 'truncate-middle', chunkOverlap: 0, maxDepth: 3 };
export const DEFAULT_METRICS: MetricSettings = {
  stem: true,
  minWords: 5,
  repetitionN: 4,
  maxRepeatedNgramRate: 0.3,
  maxRepeatedSpanWords: 15,
  minRepeatedSpanShare: 0.2,
  minDistinct2: 0.4,
};
export const DEFAULT_VARIANTS: PromptVariant[] = [
  { name: 'plain', template: 'Summarize the following document.\n\n{document}' },
];

function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function describeAjvError(error: ErrorObject, where: string): string {
  const at = error.instancePath ? `${where}${error.instancePath.replace(/\//g, '.')}` : where || 'top level';
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown key "${(error.params as { additionalProperty: string }).additionalProperty}" in ${at}`;
    case 'required':
      return `missing "${(error.params as { missingProperty: string }).missingProperty}" in ${at}`;
    case 'enum':
      return `${at} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return error.instancePath.endsWith('emplate')
        ? `${at} must contain the {document} placeholder`
        : `${at} has a bad format (${error.message})`;
    default:
      return `${at} ${error.message}`;
  }
}

/** Picks the most useful of ajv's errors (oneOf/anyOf produce several). */
function pickError(errors: ErrorObject[]): ErrorObject {
  const order = ['additionalProperties', 'enum', 'required', 'pattern', 'type', 'minimum', 'maximum'];
  for (const keyword of order) {
    const e = errors.find((x) => x.keyword === keyword);
    if (e) return e;
  }
  return errors[0];
}

// ---------------------------------------------------------------------------------------------------------------
// Items

function itemError(file: string, line: number, errors: ErrorObject[]): EvalConfigError {
  if (errors.some((e) => e.keyword === 'anyOf') && !errors.some((e) => e.keyword === 'additionalProperties' || e.keyword === 'type')) {
    return new EvalConfigError(file, line, 'missing document field (one of "document", "report", "context", "documentPath")');
  }
  return new EvalConfigError(file, line, describeAjvError(pickError(errors.filter((e) => e.keyword !== 'anyOf')), 'item'));
}

/**
 * The objects of strict JSON Lines text with their 1-based line numbers (blank lines skipped, CRLF accepted).
 * Throws EvalConfigError naming `file` and the line for invalid JSON or a line that is not an object.
 */
export function* jsonObjectLines(text: string, file: string): Generator<{ value: Record<string, unknown>; line: number }> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new EvalConfigError(file, line, `invalid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new EvalConfigError(file, line, 'each line must be a JSON object');
    }
    yield { value: value as Record<string, unknown>, line };
  }
}

/** Whether `file` is a file (false where it does not exist or is something else), without blocking. */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Parses JSON Lines items. `file` is used in errors and to resolve documentPath (read asynchronously). */
export async function parseItems(text: string, file: string): Promise<EvalItem[]> {
  const shown = displayPath(file);
  const items: EvalItem[] = [];
  const ids = new Map<string, number>();
  for (const { value, line: lineNo } of jsonObjectLines(text, shown)) {
    if (!validateItem(value)) throw itemError(shown, lineNo, validateItem.errors ?? []);
    const rec = value as Record<string, unknown>;
    let document = (rec.document ?? rec.report ?? rec.context) as string | undefined;
    if (document === undefined && typeof rec.documentPath === 'string') {
      const target = path.resolve(path.dirname(file), rec.documentPath);
      if (!(await isFile(target))) {
        throw new EvalConfigError(shown, lineNo, `documentPath "${rec.documentPath}" not found (${displayPath(target)})`);
      }
      document = await fs.readFile(target, 'utf8');
    }
    const references: string[] = [];
    const push = (v: unknown) => {
      if (typeof v === 'string' && v.trim() !== '') references.push(v);
      else if (Array.isArray(v)) for (const s of v) if (typeof s === 'string' && s.trim() !== '') references.push(s);
    };
    push(rec.summary);
    push(rec.summaries);
    push(rec.answers);
    const rawId = rec.id ?? rec._id;
    const id = rawId !== undefined ? String(rawId) : `${path.basename(file)}:${lineNo}`;
    const seen = ids.get(id);
    if (seen !== undefined) throw new EvalConfigError(shown, lineNo, `duplicate id "${id}" (first on line ${seen})`);
    ids.set(id, lineNo);
    items.push({
      id,
      ...(typeof rec.title === 'string' && rec.title.trim() ? { title: rec.title } : {}),
      document: document ?? '',
      references,
      source: { file: shown, line: lineNo },
    });
  }
  return items;
}

export async function loadItemsFile(file: string): Promise<EvalItem[]> {
  const abs = path.resolve(file);
  if (!(await isFile(abs))) throw new EvalConfigError(displayPath(abs), undefined, 'file not found');
  return parseItems(await fs.readFile(abs, 'utf8'), abs);
}

// ---------------------------------------------------------------------------------------------------------------
// Suite config

function lineOfPath(doc: ReturnType<typeof parseDocument>, counter: LineCounter, instancePath: string, key?: string): number | undefined {
  const segments = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let node: unknown = segments.length ? doc.getIn(segments, true) : doc.contents;
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key)) node = pair.key;
  }
  const range = (node as Node | undefined)?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}

/** Parses a suite config (YAML or JSON text). Items files are read relative to `file`. */
export async function parseSuite(text: string, file: string): Promise<EvalSuite> {
  const abs = path.resolve(file);
  const shown = displayPath(abs);
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? counter.linePos(e.pos[0]).line;
    throw new EvalConfigError(shown, line, `invalid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'} (${e.message.split('\n')[0]})`);
  }
  const config = doc.toJS() as unknown;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new EvalConfigError(shown, 1, 'a suite must be a mapping with "items" and "variants"');
  }
  if (!validateSuite(config)) {
    const error = pickError(validateSuite.errors ?? []);
    const key =
      error.keyword === 'additionalProperties'
        ? (error.params as { additionalProperty: string }).additionalProperty
        : undefined;
    throw new EvalConfigError(shown, lineOfPath(doc, counter, error.instancePath, key), describeAjvError(error, 'suite'));
  }
  const c = config as Record<string, unknown> & {
    items: string | string[];
    variants: PromptVariant[];
    interventions?: SuiteIntervention[];
    generation?: Partial<GenerationSettings>;
    longInput?: Partial<LongInputConfig>;
    metrics?: Partial<MetricSettings>;
  };
  const names = new Set<string>();
  c.variants.forEach((v, i) => {
    if (names.has(v.name)) {
      throw new EvalConfigError(shown, lineOfPath(doc, counter, `/variants/${i}/name`), `duplicate variant name "${v.name}"`);
    }
    names.add(v.name);
  });
  const ivNames = new Set<string>();
  (c.interventions ?? []).forEach((iv, i) => {
    if (ivNames.has(iv.name)) throw new EvalConfigError(shown, lineOfPath(doc, counter, `/interventions/${i}/name`), `duplicate intervention name "${iv.name}"`);
    ivNames.add(iv.name);
    // The SPEC syntax here; layers and experts are checked against each model when it is loaded.
    for (const kind of ['ablate', 'force'] as const) {
      const spec = iv[kind];
      if (spec === undefined) continue;
      try {
        parseInterventionSpec(spec, kind);
      } catch (error) {
        if (!isEngineError(error)) throw error;
        throw new EvalConfigError(shown, lineOfPath(doc, counter, `/interventions/${i}/${kind}`), `intervention "${iv.name}": ${error.message}`);
      }
    }
  });
  const dir = path.dirname(abs);
  const itemsFiles = (Array.isArray(c.items) ? c.items : [c.items]).map((p) => path.resolve(dir, p));
  const items: EvalItem[] = [];
  const ids = new Set<string>();
  for (const [i, f] of itemsFiles.entries()) {
    if (!(await isFile(f))) {
      const at = Array.isArray(c.items) ? `/items/${i}` : '/items';
      throw new EvalConfigError(shown, lineOfPath(doc, counter, at), `items file not found: ${displayPath(f)}`);
    }
    for (const item of await loadItemsFile(f)) {
      if (ids.has(item.id)) throw new EvalConfigError(item.source.file, item.source.line, `duplicate id "${item.id}" across items files`);
      ids.add(item.id);
      items.push(item);
    }
  }
  return {
    name: typeof c.name === 'string' ? c.name : path.basename(abs).replace(/\.(ya?ml|json)$/i, ''),
    ...(typeof c.description === 'string' ? { description: c.description } : {}),
    path: abs,
    itemsFiles,
    items,
    mode: (c.mode as EvalSuite['mode']) ?? 'chat',
    ...(typeof c.contextSize === 'number' ? { contextSize: c.contextSize } : {}),
    variants: c.variants.map((v) => ({ ...v })),
    ...(c.interventions?.length ? { interventions: c.interventions.map((iv) => ({ ...iv })) } : {}),
    generation: { ...DEFAULT_GENERATION, ...c.generation },
    longInput: { ...DEFAULT_LONG_INPUT, ...c.longInput },
    metrics: { ...DEFAULT_METRICS, ...c.metrics },
  };
}

/**
 * Loads a suite: a .yaml/.yml/.json config, or a .jsonl items file on its own (run with the default variant and
 * settings).
 */
export async function loadSuite(file: string): Promise<EvalSuite> {
  const abs = path.resolve(file);
  if (!(await isFile(abs))) throw new EvalConfigError(displayPath(abs), undefined, 'file not found');
  if (/\.jsonl$/i.test(abs)) {
    const items = await loadItemsFile(abs);
    return {
      name: path.basename(abs, path.extname(abs)),
      path: abs,
      itemsFiles: [abs],
      items,
      mode: 'chat',
      variants: DEFAULT_VARIANTS.map((v) => ({ ...v })),
      generation: { ...DEFAULT_GENERATION },
      longInput: { ...DEFAULT_LONG_INPUT },
      metrics: { ...DEFAULT_METRICS },
    };
  }
  return parseSuite(await fs.readFile(abs, 'utf8'), abs);
}

/** Fills a prompt template: {document} and {title} (an empty title leaves the rest of the template as is). */
export function renderTemplate(template: string, values: { document: string; title?: string }): string {
  return template.replace(/\{(document|title)\}/g, (_m, key: string) => (key === 'document' ? values.document : (values.title ?? '')));
}
