// Tool calls without a model: the call syntax of node-llama-cpp's wrappers as text, the grammar tool mode
// "required" gives the sampler, calls parsed back out of generated text, and VS Code's tool calls and results
// in the engine's chat turns.
import { describe, expect, it } from 'vitest';
import { callSyntax, parseToolCalls, plainText, toolCallGrammar } from '../../../extension/engine/tool-calls';
import { toGenerationPrompt } from '../../../extension/chat/lm-messages';
import { isEngineError } from '../../../extension/engine/errors';
import type { ToolDefinition } from '../../../extension/engine/types';

// node-llama-cpp's generic syntax (ChatWrapper's default settings.functions.call), as its wrappers hold it.
const GENERIC = callSyntax({ prefix: '||call: ', paramsPrefix: { values: [{ type: 'specialTokensText', value: '(' }] }, suffix: { values: [{ type: 'specialTokensText', value: ')' }] } });
// Qwen's: the name sits inside a JSON object.
const QWEN = callSyntax({ prefix: '<tool_call>\n{"name": "', paramsPrefix: '", "arguments": ', suffix: '}\n</tool_call>' });

const TOOLS: ToolDefinition[] = [
  { name: 'get_weather', description: 'The weather in a city', inputSchema: { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, unit: { enum: ['c', 'f'] } }, required: ['city'] } },
  { name: 'get', inputSchema: { type: 'object', properties: { n: { type: 'integer' } } } },
];

describe('call syntax', () => {
  it('LlamaText values flatten to their text; special tokens without text go', () => {
    expect(GENERIC).toEqual({ prefix: '||call: ', paramsPrefix: '(', suffix: ')' });
    expect(plainText({ values: ['a', { type: 'specialToken', value: 'EOS' }, { type: 'specialTokensText', value: '<b>' }] })).toBe('a<b>');
    expect(plainText(undefined)).toBe('');
  });
});

describe('parsing calls', () => {
  it('finds calls to known tools with their JSON input and keeps the text around them', () => {
    const parsed = parseToolCalls('Let me look. ||call: get_weather ({"city": "Oslo", "unit": "c"}) and ||call: get({"n": 2})', GENERIC, TOOLS);
    expect(parsed.calls).toEqual([
      { name: 'get_weather', input: { city: 'Oslo', unit: 'c' } },
      { name: 'get', input: { n: 2 } },
    ]);
    expect(parsed.text).toBe('Let me look.  and');
  });

  it('reads a template whose name sits inside JSON (Qwen), strings with brackets and quotes included', () => {
    const parsed = parseToolCalls('<tool_call>\n{"name": "get_weather", "arguments": {"city": "a \\"}\\" b"}}\n</tool_call>', QWEN, TOOLS);
    expect(parsed.calls).toEqual([{ name: 'get_weather', input: { city: 'a "}" b' } }]);
    expect(parsed.text).toBe('');
  });

  it('unknown tools, broken JSON and non-object parameters stay text', () => {
    for (const text of ['||call: delete_all({})', '||call: get({"n":', '||call: get([1])', 'no call here']) {
      const parsed = parseToolCalls(text, GENERIC, TOOLS);
      expect(parsed.calls).toEqual([]);
      expect(parsed.text).toBe(text);
    }
  });
});

describe('the grammar of tool mode "required"', () => {
  it('offers each tool by name after the prefix, its schema’s properties as JSON, then the suffix', () => {
    const grammar = toolCallGrammar(TOOLS, GENERIC);
    const root = grammar.split('\n')[0];
    expect(root).toMatch(/^root ::= "\|\|call: " \( "get_weather\(" obj\d+ \| "get\(" obj\d+ \) "\)"$/);
    expect(grammar).toContain('"\\"city\\"" ws ":" ws "\\"" char{0,20} "\\""');
    expect(grammar).toContain('( "\\"c\\"" | "\\"f\\"" )');
    expect(grammar).toContain('"\\"n\\"" ws ":" ws integer');
  });

  it('refuses no tools and names that could not be written in a grammar, in words', () => {
    expect(() => toolCallGrammar([], GENERIC)).toThrow(/at least one tool/);
    try {
      toolCallGrammar([{ name: 'bad name"' }], GENERIC);
      expect.unreachable();
    } catch (error) {
      expect(isEngineError(error, 'internal')).toBe(true);
      expect((error as Error).message).toContain('not usable');
    }
  });
});

describe('VS Code tool calls and results as chat turns', () => {
  it('results attach to the calls they answer and the assistant’s turn is continued', () => {
    const p = toGenerationPrompt([
      { role: 'user', text: 'Weather in Oslo?' },
      { role: 'assistant', text: '', toolCalls: [{ callId: 'c1', name: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'user', text: '', toolResults: [{ callId: 'c1', text: '21 C' }] },
    ]);
    expect(p.history).toEqual([{ role: 'user', content: 'Weather in Oslo?' }]);
    expect(p.message).toEqual({ role: 'assistant', content: '', toolCalls: [{ name: 'get_weather', input: { city: 'Oslo' }, result: '21 C' }] });
  });

  it('a new user question after answered calls is answered as usual; a result for an unknown call is refused', () => {
    const p = toGenerationPrompt([
      { role: 'user', text: 'Q1' },
      { role: 'assistant', text: 'Looking.', toolCalls: [{ callId: 'c1', name: 'get', input: { n: 1 } }] },
      { role: 'user', text: '', toolResults: [{ callId: 'c1', text: '1' }] },
      { role: 'assistant', text: 'It is 1.' },
      { role: 'user', text: 'Q2' },
    ]);
    expect(p.history[1]).toEqual({ role: 'assistant', content: 'Looking.\n\nIt is 1.', toolCalls: [{ name: 'get', input: { n: 1 }, result: '1' }] });
    expect(p.message).toEqual({ role: 'user', content: 'Q2' });
    expect(() => toGenerationPrompt([{ role: 'user', text: 'Q' }, { role: 'user', text: '', toolResults: [{ callId: 'x', text: '' }] }])).toThrow(/no earlier assistant message/);
  });
});
