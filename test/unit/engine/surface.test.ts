// The engine surface (extension/engine/surface.ts) and the backend registry: the generic forwarding that the
// process client, the engine process, AnyEngine and the test fake share.
import { describe, expect, it } from 'vitest';
import { AnyEngine } from '../../../extension/engine/any-engine';
import { backendKind, formatLoadTarget, withExpertsPerToken } from '../../../extension/engine/backends';
import { isEngineError } from '../../../extension/engine/errors';
import { ENGINE_METHOD_NAMES, ENGINE_METHODS, controlOf, isEngineMethod, withControl } from '../../../extension/engine/surface';
import type { BackendKind, Engine, TokenFrame } from '../../../extension/engine/types';
import { FakeEngine } from '../../fake-engine';

describe('the method map', () => {
  it('names the engine methods, not the lifecycle of the object', () => {
    expect(ENGINE_METHOD_NAMES).toEqual(expect.arrayContaining(['inspect', 'load', 'unload', 'tokenize', 'detokenize', 'countTokens', 'generate', 'perplexity']));
    expect(ENGINE_METHOD_NAMES).not.toContain('dispose');
    expect(isEngineMethod('generate')).toBe(true);
    expect(isEngineMethod('dispose')).toBe(false);
    expect(isEngineMethod('toString')).toBe(false);
  });

  it('keeps the control parameter on the caller side and turns its listeners into events on the other', () => {
    const frames: unknown[] = [];
    const caller = new AbortController();
    const args = [{ input: { kind: 'text', text: 'x' } }, { signal: caller.signal, onFrame: (f: unknown) => frames.push(f) }];
    const { signal, listeners } = controlOf('generate', args);
    expect(signal).toBe(caller.signal);
    expect(Object.keys(listeners)).toEqual(['onFrame']);
    // What crosses the boundary: the data arguments only.
    const data = args.slice(0, ENGINE_METHODS.generate.args);
    expect(data).toEqual([{ input: { kind: 'text', text: 'x' } }]);
    // The far side: a fresh signal and listeners that emit events, which the caller's listeners receive.
    const far = new AbortController();
    const emitted: [string, unknown][] = [];
    const rebuilt = withControl('generate', data, far.signal, (event, value) => (emitted.push([event, value]), listeners[event](value)));
    const callbacks = rebuilt[1] as { signal: AbortSignal; onFrame: (f: unknown) => void };
    expect(callbacks.signal).toBe(far.signal);
    callbacks.onFrame('frame 1');
    expect(emitted).toEqual([['onFrame', 'frame 1']]);
    expect(frames).toEqual(['frame 1']);
    // load's control parameter is a plain signal; tokenize has none.
    expect(withControl('load', [{ modelPath: '/m.gguf' }], far.signal, () => undefined)).toEqual([{ modelPath: '/m.gguf' }, far.signal]);
    expect(withControl('tokenize', ['a b'], far.signal, () => undefined)).toEqual(['a b']);
    expect(controlOf('generate', [{}])).toEqual({ signal: undefined, listeners: {} });
  });

  it('the test fake fails a method it does not fake, in words', async () => {
    const fake = new FakeEngine();
    await fake.load({ modelPath: '/m/fake.gguf' });
    const error = await fake.perplexity({ text: 'a b c' }).catch((e: unknown) => e);
    expect(isEngineError(error, 'internal')).toBe(true);
    expect((error as Error).message).toBe('the fake engine has no perplexity');
  });
});

describe('AnyEngine over the backend registry', () => {
  const make = () => {
    const created: BackendKind[] = [];
    const engines = new Map<BackendKind, FakeEngine>();
    const engine = new AnyEngine((kind) => {
      created.push(kind);
      const fake = new FakeEngine();
      engines.set(kind, fake);
      return fake as Engine<never>;
    });
    return { engine, created, engines };
  };

  it('creates nothing until used, then one engine per backend kind that is used', async () => {
    const { engine, created, engines } = make();
    expect(created).toEqual([]);
    await engine.inspect({ backend: 'remote', endpoint: 'http://127.0.0.1:9' });
    expect(created).toEqual(['remote']);
    await engine.load({ modelPath: '/m/a.gguf' });
    await engine.load({ modelPath: '/m/b.gguf' });
    expect(created).toEqual(['remote', 'local']);
    expect(engines.get('local')!.loads.map(formatLoadTarget)).toEqual(['/m/a.gguf', '/m/b.gguf']);
  });

  it('sends calls to the backend holding the model, unloads the other on a switch, says no-model before a load', async () => {
    const { engine, engines } = make();
    const before = await engine.tokenize('a').catch((e: unknown) => e);
    expect(isEngineError(before, 'no-model')).toBe(true);
    await engine.load({ modelPath: '/m/a.gguf' });
    const frames: TokenFrame[] = [];
    const result = await engine.generate({ input: { kind: 'text', text: 'one two three' } }, { onFrame: (f) => frames.push(f) });
    expect(result.text).toBe('one two three');
    expect(frames.length).toBe(3);
    expect(engines.get('local')!.requests.length).toBe(1);
    const localCounts = engines.get('local')!.countCalls;
    await engine.load({ backend: 'remote', endpoint: 'http://127.0.0.1:9/', model: 'm' });
    expect(engines.get('local')!.unloads).toBe(1);
    expect(engine.model?.path).toBe('m @ http://127.0.0.1:9');
    await engine.countTokens({ kind: 'text', text: 'x y' });
    expect(engines.get('remote')!.countCalls).toBe(1);
    expect(engines.get('local')!.countCalls).toBe(localCounts);
    await engine.dispose();
    expect([...engines.values()].every((e) => e.disposed)).toBe(true);
  });

  it('backend facts: the kind, the identity text, the top-k override where the backend takes one', () => {
    expect(backendKind({ modelPath: '/m/a.gguf' })).toBe('local');
    expect(formatLoadTarget({ backend: 'remote', endpoint: 'http://h:8080//' })).toBe('default @ http://h:8080');
    expect(withExpertsPerToken({ modelPath: '/m/a.gguf' }, 4)).toEqual({ modelPath: '/m/a.gguf', expertsPerToken: 4 });
    expect(() => withExpertsPerToken({ backend: 'remote', endpoint: 'http://h:8080' }, 4)).toThrow(/needs a local GGUF model/);
    expect(withExpertsPerToken({ backend: 'remote', endpoint: 'http://h:8080' }, undefined)).toEqual({ backend: 'remote', endpoint: 'http://h:8080' });
  });
});
