// Tool calls in a chat template's own syntax (node-llama-cpp's `chatWrapper.settings.functions`): the syntax as
// plain text, a GBNF grammar that admits exactly one call to one of the given tools with JSON parameters per its
// schema (tool mode *required*), and the calls parsed back out of generated text. No vscode, no node-llama-cpp.
import { EngineError } from './errors';
import type { ToolCall, ToolDefinition } from './types';

/** How a template writes one call: prefix + name + paramsPrefix + JSON params + suffix. */
export interface CallSyntax {
  prefix: string;
  paramsPrefix: string;
  suffix: string;
}

/** A chat wrapper's text value (a string, or a LlamaText of strings and special-token texts) as plain text. */
export function plainText(value: unknown): string {
  if (typeof value === 'string') return value;
  const values = (value as { values?: unknown[] } | undefined)?.values;
  if (!Array.isArray(values)) return '';
  return values.map((v) => (typeof v === 'string' ? v : typeof (v as { value?: unknown }).value === 'string' && (v as { type?: string }).type === 'specialTokensText' ? (v as { value: string }).value : '')).join('');
}

/** The call syntax of node-llama-cpp's `settings.functions.call`. */
export function callSyntax(call: { prefix: unknown; paramsPrefix: unknown; suffix: unknown }): CallSyntax {
  return { prefix: plainText(call.prefix), paramsPrefix: plainText(call.paramsPrefix), suffix: plainText(call.suffix) };
}

const TOOL_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Tool names go into grammars and prompts verbatim: refused in words unless plain. */
export function checkTools(tools: readonly ToolDefinition[]): void {
  const bad = tools.find((t) => !TOOL_NAME.test(t.name));
  if (bad) throw new EngineError('internal', `The tool name ${JSON.stringify(bad.name)} is not usable: names are 1–64 letters, digits, "_", "." or "-".`);
}

const literal = (text: string) => JSON.stringify(text); // GBNF string literals escape as JSON strings do

const JSON_RULES = [
  'ws ::= [ \\t\\n]{0,4}',
  'char ::= [^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\/bfnrt] | "\\\\u" [0-9a-fA-F]{4}',
  'string ::= "\\"" char* "\\""',
  'number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,15} )?',
  'integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )',
  'boolean ::= "true" | "false"',
  'null ::= "null"',
  'value ::= object | array | string | number | boolean | null',
  'object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"',
  'array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"',
];

/** A GBNF rule body for a JSON schema (objects, arrays, enums, strings with their maxLength, numbers, booleans; anything else: any value). */
function schemaRule(schema: unknown, rules: string[], depth = 0): string {
  const s = (schema ?? {}) as { type?: unknown; enum?: unknown; const?: unknown; properties?: Record<string, unknown>; items?: unknown; maxLength?: unknown };
  if (depth > 6) return 'value';
  if (Array.isArray(s.enum) && s.enum.length) return `( ${s.enum.map((v) => literal(JSON.stringify(v))).join(' | ')} )`;
  if (s.const !== undefined) return literal(JSON.stringify(s.const));
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      return typeof s.maxLength === 'number' && Number.isInteger(s.maxLength) && s.maxLength >= 0 ? `"\\"" char{0,${Math.min(s.maxLength, 1000)}} "\\""` : 'string';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = schemaRule(s.items, rules, depth + 1);
      return `"[" ws ( ${item} ws ( "," ws ${item} ws )* )? "]"`;
    }
    case 'object': {
      if (!s.properties) return 'object';
      // Every declared property, in the schema's order (the optional ones too: the input is valid either way).
      const entries = Object.entries(s.properties).filter(([key]) => TOOL_NAME.test(key));
      if (!entries.length) return '"{" ws "}"';
      const body = entries.map(([key, sub]) => `${literal(JSON.stringify(key))} ws ":" ws ${schemaRule(sub, rules, depth + 1)}`);
      const name = `obj${rules.length}`;
      rules.push(`${name} ::= "{" ws ${body.join(' ws "," ws ')} ws "}"`);
      return name;
    }
    default:
      return 'value';
  }
}

/**
 * A GBNF grammar (root rule `root`) whose only sentences are one call, in `syntax`, to one of `tools`, with JSON
 * parameters that match the tool's input schema.
 */
export function toolCallGrammar(tools: readonly ToolDefinition[], syntax: CallSyntax): string {
  if (!tools.length) throw new EngineError('internal', 'Tool mode "required" needs at least one tool.');
  checkTools(tools);
  const rules: string[] = [];
  const calls = tools.map((t) => {
    const params = schemaRule(t.inputSchema ?? { type: 'object' }, rules);
    return `${literal(t.name + syntax.paramsPrefix.replaceAll('{{functionName}}', t.name))} ${params}`;
  });
  return [`root ::= ${literal(syntax.prefix)} ( ${calls.join(' | ')} ) ${literal(syntax.suffix)}`, ...rules, ...JSON_RULES].join('\n');
}

/** The first complete JSON value at the start of `text` and where it ends, or undefined. */
function leadingJson(text: string): { value: unknown; end: number } | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        try {
          return { value: JSON.parse(text.slice(0, i + 1)), end: i + 1 };
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

/**
 * The calls to `tools` written in `syntax` in generated text, and the text around them. A call to an unknown
 * tool, or one whose parameters are not a JSON object, stays text.
 */
export function parseToolCalls(text: string, syntax: CallSyntax, tools: readonly ToolDefinition[]): { text: string; calls: ToolCall[] } {
  const calls: ToolCall[] = [];
  let rest = '';
  let at = 0;
  const prefix = syntax.prefix.trimStart();
  while (prefix) {
    const start = text.indexOf(prefix, at);
    if (start < 0) break;
    let p = start + prefix.length;
    // The name, then (after optional spaces, as node-llama-cpp's own prompt writes it) the params prefix.
    const afterName = (t: ToolDefinition) => {
      if (!text.startsWith(t.name, p)) return -1;
      const paramsPrefix = syntax.paramsPrefix.replaceAll('{{functionName}}', t.name);
      const q = p + t.name.length + (/^[ \t]*/.exec(text.slice(p + t.name.length))?.[0].length ?? 0);
      return text.startsWith(paramsPrefix, q) ? q + paramsPrefix.length : -1;
    };
    const tool = tools.filter((t) => afterName(t) >= 0).sort((a, b) => b.name.length - a.name.length)[0];
    if (!tool) {
      rest += text.slice(at, p);
      at = p;
      continue;
    }
    p = afterName(tool);
    const json = leadingJson(text.slice(p).trimStart());
    const lead = text.slice(p).length - text.slice(p).trimStart().length;
    if (!json || typeof json.value !== 'object' || json.value === null || Array.isArray(json.value)) {
      rest += text.slice(at, p);
      at = p;
      continue;
    }
    p += lead + json.end;
    if (syntax.suffix && text.startsWith(syntax.suffix, p)) p += syntax.suffix.length;
    calls.push({ name: tool.name, input: json.value as Record<string, unknown> });
    rest += text.slice(at, start);
    at = p;
  }
  return { text: (rest + text.slice(at)).trim(), calls };
}
