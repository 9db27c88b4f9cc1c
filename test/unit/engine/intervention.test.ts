// The SPEC parser and validator (extension/engine/intervention.ts): syntax, `*`, merging, every refusal the issue
// lists, canonical keys, and the masks the native callback gets.
import { describe, expect, it } from 'vitest';
import { isEngineError } from '../../../extension/engine/errors';
import {
  checkExpertsPerToken,
  formatIntervention,
  interventionFromSpecs,
  parseInterventionSpec,
  resolveIntervention,
  toNative,
} from '../../../extension/engine/intervention';

const MODEL = { name: 'toy', routing: { moeLayers: [1, 2, 3, 5], experts: 8, expertsPerToken: 2, sharedExperts: 0 } };

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (error) {
    return isEngineError(error) ? error.code : 'not-an-engine-error';
  }
  return undefined;
};

describe('parseInterventionSpec', () => {
  it('reads layers, experts, * and merges repeats', () => {
    expect(parseInterventionSpec('0:3;5:1,2', 'ablate')).toEqual({ '0': [3], '5': [1, 2] });
    expect(parseInterventionSpec(' *:7 ; 05:1 ;5:1,4;', 'ablate')).toEqual({ '*': [7], '5': [1, 4] });
  });

  it.each(['', ';', '3', ':1', '1:', 'a:1', '1:x', '1:1,,2', '-1:2', '1:2.5', '1;2'])('refuses %j', (spec) => {
    expect(code(() => parseInterventionSpec(spec, 'force'))).toBe('bad-intervention');
  });

  it('says which flag and what it expected', () => {
    expect(() => parseInterventionSpec('1:x', 'force')).toThrow(/^bad --force SPEC "1:x": .*expected LAYER:EXPERT/);
  });

  it('interventionFromSpecs: undefined without flags', () => {
    expect(interventionFromSpecs({})).toBeUndefined();
    expect(interventionFromSpecs({ force: '1:2' })).toEqual({ force: { '1': [2] } });
  });
});

describe('resolveIntervention', () => {
  it('expands * over the MoE layers and computes masks', () => {
    const r = resolveIntervention({ ablate: { '*': [7], '2': [1] }, force: { '5': [4] } }, MODEL)!;
    expect(r.layers.map((l) => [l.layer, l.slot, l.masked])).toEqual([
      [1, 0, [7]],
      [2, 1, [1, 7]],
      [3, 2, [7]],
      [5, 3, [0, 1, 2, 3, 5, 6, 7]],
    ]);
    expect(r.key).toBe('ablate 1:7;2:1,7;3:7;5:7 force 5:4');
    expect(toNative(r)!.layers[3]).toEqual({ slot: 3, force: true, masked: [0, 1, 2, 3, 5, 6, 7] });
  });

  it('gives the same key for the same effect', () => {
    const a = resolveIntervention({ ablate: { '2': [3, 1] } }, MODEL)!;
    const b = resolveIntervention(interventionFromSpecs({ ablate: '2:1;2:3' }), MODEL)!;
    expect(a.key).toBe(b.key);
  });

  it('nothing to do is undefined', () => {
    expect(resolveIntervention(undefined, MODEL)).toBeUndefined();
    expect(resolveIntervention({ ablate: {} }, MODEL)).toBeUndefined();
  });

  it.each([
    [{ ablate: { '0': [1] } }, /layer 0 is not a MoE layer of toy \(MoE layers: 1–5\)/],
    [{ ablate: { '4': [1] } }, /layer 4 is not a MoE layer/],
    [{ ablate: { '1': [8] } }, /expert 8 is out of range: toy has 8 experts per layer \(0–7\)/],
    [{ ablate: { '*': [0, 1, 2, 3, 4, 5, 6, 7] } }, /every expert ablated in layer 1/],
    [{ ablate: { '1': [0, 1, 2, 3, 4, 5, 6] } }, /7 of 8 experts ablated in layer 1; the router needs at least the 2/],
    [{ force: { '1': [0, 1, 2] } }, /3 experts forced in layer 1, but toy uses 2 per token/],
    [{ force: { '1': [3] }, ablate: { '*': [3] } }, /expert 3 is both forced and ablated in layer 1/],
  ])('refuses %j', (intervention, message) => {
    expect(() => resolveIntervention(intervention, MODEL)).toThrow(message);
    expect(code(() => resolveIntervention(intervention, MODEL))).toBe('bad-intervention');
  });

  it('refuses a dense model', () => {
    expect(code(() => resolveIntervention({ ablate: { '0': [1] } }, { name: 'toy' }))).toBe('not-moe');
  });
});

describe('formatIntervention and checkExpertsPerToken', () => {
  it('formats in SPEC syntax, * first', () => {
    expect(formatIntervention({ ablate: { '5': [2, 1], '*': [7] }, force: { '3': [0] } })).toBe('ablate *:7;5:1,2 force 3:0');
    expect(formatIntervention(undefined)).toBe('');
  });

  it('top-k within 1..experts, dense refused', () => {
    const TOY = { name: MODEL.name, experts: MODEL.routing.experts };
    expect(code(() => checkExpertsPerToken(1, TOY))).toBeUndefined();
    expect(code(() => checkExpertsPerToken(8, TOY))).toBeUndefined();
    expect(code(() => checkExpertsPerToken(0, TOY))).toBe('bad-intervention');
    expect(code(() => checkExpertsPerToken(9, TOY))).toBe('bad-intervention');
    expect(code(() => checkExpertsPerToken(1.5, TOY))).toBe('bad-intervention');
    expect(code(() => checkExpertsPerToken(1, { name: 'd', experts: 0 }))).toBe('not-moe');
  });
});
