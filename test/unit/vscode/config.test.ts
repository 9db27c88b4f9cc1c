import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING } from '../../../extension/engine/sampling';
import { DEFAULTS, MODEL_SAMPLING_KEYS, affectsModel, loadOptionsFrom, parseConfig, remoteOptionsFrom, samplingFrom } from '../../../extension/vscode/config';
import manifest from '../../../package.json';

const source = (values: Record<string, unknown>) => ({ get: <T>(key: string) => values[key] as T | undefined });

describe('moeOffload / gpuLayers settings', () => {
  it.each([
    [{ moeOffload: ' ALL ', gpuLayers: '33' }, 'all', 33],
    [{ moeOffload: '-1', gpuLayers: 'all' }, 'auto', 'auto'],
    [{}, 'auto', 'auto'],
  ])('%j: invalid text falls back to auto', (values, moeOffload, gpuLayers) => {
    expect(parseConfig(source(values))).toMatchObject({ moeOffload, gpuLayers });
  });

  it('the manifest pattern accepts exactly what the parser understands', () => {
    const props = (manifest as { contributes: { configuration: { properties: Record<string, { pattern?: string; default?: unknown }> } } }).contributes.configuration.properties;
    const pattern = new RegExp(props['moeLens.moeOffload'].pattern!);
    for (const ok of ['auto', 'all', 'none', '0', '24']) expect(pattern.test(ok)).toBe(true);
    for (const bad of ['', 'some', '-1', '2.5', 'all ']) expect(pattern.test(bad)).toBe(false);
    expect(props['moeLens.moeOffload'].default).toBe('auto');
  });
});

describe('parseConfig', () => {
  it('gives defaults for an empty configuration', () => {
    expect(parseConfig(source({}))).toEqual(DEFAULTS);
  });

  it('clamps and coerces values', () => {
    const c = parseConfig(
      source({ modelPath: '  /m/x.gguf ', temperature: -1, topP: 3, topK: 12.6, maxTokens: -4, seed: -5, contextSize: '8192', captureRouting: 'yes', systemPrompt: '', moeOffload: '4', threads: 2 }),
    );
    expect(c).toMatchObject({ modelPath: '/m/x.gguf', temperature: 0, topP: 1, topK: 13, maxTokens: 0, seed: -1, contextSize: 8192, captureRouting: true, systemPrompt: '', moeOffload: 4, threads: 2 });
  });

  it('survives a throwing source', () => {
    expect(parseConfig({ get: () => { throw new Error('x'); } })).toEqual(DEFAULTS);
  });

  it('every setting the accessor reads is contributed with the same default', () => {
    const props = (manifest as { contributes: { configuration: { properties: Record<string, { default?: unknown }> } } }).contributes.configuration.properties;
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect(props[`moeLens.${key}`], key).toBeDefined();
      expect(props[`moeLens.${key}`].default, key).toEqual(value);
    }
  });

  it('builds load options and sampling', () => {
    const c = parseConfig(source({ moeOffload: 'all', gpuLayers: 'max', contextSize: 0, seed: 42 }));
    expect(loadOptionsFrom(c, '/a.gguf')).toEqual({ modelPath: '/a.gguf', gpuLayers: 'max', cpuMoe: 'all' });
    expect(loadOptionsFrom(parseConfig(source({ expertsPerToken: 1 })), '/a.gguf')).toMatchObject({ expertsPerToken: 1 });
    // Nothing set: only the seed; the rest fits the loaded model.
    expect(samplingFrom(c)).toEqual({ seed: 42 });
    expect(samplingFrom(parseConfig(source({ maxTokens: 64, temperature: 0.2, seed: 1 })))).toEqual({ maxTokens: 64, temperature: 0.2, seed: 1 });
    const random = samplingFrom(parseConfig(source({ seed: -1 })), () => 0.5);
    expect(random.seed).toBe(Math.floor(0.5 * 0xffffffff));
  });

  it('a sampling setting counts only where the user set it (the manifest default is the model default)', () => {
    const props = (manifest as { contributes: { configuration: { properties: Record<string, { default?: unknown }> } } }).contributes.configuration.properties;
    for (const key of MODEL_SAMPLING_KEYS) expect(props[`moeLens.${key}`].default, key).toBe(DEFAULT_SAMPLING[key]);
    const manifestDefaults = { get: <T>(key: string) => props[`moeLens.${key}`]?.default as T };
    const inspected = (user: Record<string, unknown>) => ({ ...manifestDefaults, inspect: <T>(key: string) => ({ globalValue: user[key] as T | undefined }) });
    expect(parseConfig(inspected({})).temperature).toBeUndefined();
    expect(samplingFrom(parseConfig(inspected({})), () => 0)).toEqual({ seed: 0 });
    expect(parseConfig(inspected({ temperature: 0.7 })).temperature).toBe(0.7);
  });

  it('knows which settings reload the model', () => {
    expect(affectsModel((s) => s === 'moeLens.moeOffload')).toBe(true);
    expect(affectsModel((s) => s === 'moeLens.expertsPerToken')).toBe(true);
    expect(affectsModel((s) => s === 'moeLens.temperature')).toBe(false);
  });
});

describe('server settings', () => {
  it('parses the server, its model, the routing shape and streaming; builds remote load options with the key', () => {
    const c = parseConfig(source({ server: ' http://10.0.0.5:8000 ', serverModel: 'qwen', serverRoutingShape: '48x8', serverStream: false, contextSize: 8192 }));
    expect(c).toMatchObject({ server: 'http://10.0.0.5:8000', serverModel: 'qwen', serverRoutingShape: { moeLayers: 48, expertsPerToken: 8 }, serverStream: false });
    expect(remoteOptionsFrom(c, 'k')).toEqual({ backend: 'remote', endpoint: 'http://10.0.0.5:8000', model: 'qwen', apiKey: 'k', contextSize: 8192, routingShape: { moeLayers: 48, expertsPerToken: 8 }, stream: false });
    expect(parseConfig(source({ serverRoutingShape: 'lots' })).serverRoutingShape).toBeUndefined();
    expect(remoteOptionsFrom(parseConfig(source({ server: 'http://127.0.0.1:1' })), undefined)).toEqual({ backend: 'remote', endpoint: 'http://127.0.0.1:1' });
    expect(affectsModel((s) => s === 'moeLens.server')).toBe(true);
  });

  it('eval concurrency against a server: 4 by default, the setting clamped to 1..64', () => {
    expect(parseConfig(source({})).serverConcurrency).toBe(4);
    expect(parseConfig(source({ serverConcurrency: 8 })).serverConcurrency).toBe(8);
    expect(parseConfig(source({ serverConcurrency: 0 })).serverConcurrency).toBe(1);
    expect(parseConfig(source({ serverConcurrency: 100 })).serverConcurrency).toBe(64);
    expect(parseConfig(source({ serverConcurrency: 'many' })).serverConcurrency).toBe(4);
  });
});
