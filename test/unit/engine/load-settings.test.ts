// One grammar for the model settings: the CLI's flags and the VS Code settings read the same text into the same load
// options (the CLI refuses bad text with the parser's words; the settings fall back to the default).
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../extension/cli/main';
import { loadOptionsFrom, parseConfig, remoteOptionsFrom } from '../../../extension/vscode/config';
import { localLoadOptions, parseCpuMoe, parseGpuLayers, parseRoutingShape, serverLoadOptions } from '../../../extension/engine/load-settings';
import { FakeEngine } from '../../fake-engine';

describe('the settings grammar', () => {
  it.each([
    ['auto', 'auto'],
    ['max', 'max'],
    [' MAX ', 'max'],
    ['33', 33],
    [0, 0],
  ])('gpu layers %j → %j', (input, expected) => {
    expect(parseGpuLayers(input)).toEqual({ ok: true, value: expected });
  });

  it.each(['all', '-1', '1.5', '', -3, 2.5, undefined, null])('gpu layers %j is refused in words', (input) => {
    expect(parseGpuLayers(input)).toEqual({ ok: false, error: 'expected auto, max or a number of layers' });
  });

  it.each([
    ['auto', 'auto'],
    ['all', 'all'],
    ['none', 'none'],
    [' ALL ', 'all'],
    ['0', 0],
    ['12', 12],
    [7, 7],
  ])('cpu moe %j → %j', (input, expected) => {
    expect(parseCpuMoe(input)).toEqual({ ok: true, value: expected });
  });

  it.each(['-1', '1.5', 'everything', undefined, null, -3])('cpu moe %j is refused', (input) => {
    expect(parseCpuMoe(input).ok).toBe(false);
  });

  it.each(['58x8', '58X8', ' 58 x 8 ', '58,8', '58×8'])('routing shape %j → 58 layers, 8 per token', (input) => {
    expect(parseRoutingShape(input)).toEqual({ ok: true, value: { moeLayers: 58, expertsPerToken: 8 } });
  });

  it.each(['0x8', '58x0', '58', 'lots', '58x8x2', undefined])('routing shape %j is refused', (input) => {
    expect(parseRoutingShape(input)).toEqual({ ok: false, error: 'expected LAYERSxK, e.g. 58x8' });
  });

  it('load options leave out what means "the default" (unset or 0)', () => {
    expect(localLoadOptions('/m.gguf', { gpuLayers: 'max', cpuMoe: 2, contextSize: 0, threads: 0, expertsPerToken: 0 })).toEqual({ modelPath: '/m.gguf', gpuLayers: 'max', cpuMoe: 2 });
    expect(serverLoadOptions({ endpoint: 'http://h:1', model: '', stream: true })).toEqual({ backend: 'remote', endpoint: 'http://h:1' });
  });
});

describe('CLI and VS Code read the same text into the same load options', () => {
  async function cliLoad(...args: string[]) {
    const engine = new FakeEngine({ contextSize: 256 });
    const err: string[] = [];
    const program = buildProgram({ stdout: () => {}, stderr: (t) => err.push(t), createEngine: () => engine }).exitOverride();
    try {
      await program.parseAsync(['generate', ...args, '-p', 'hi', '-n', '1'], { from: 'user' });
    } catch (error) {
      return { error: err.join('') || String(error) };
    }
    return { options: engine.loads[0] };
  }

  it('a local model', async () => {
    const { options } = await cliLoad('/m.gguf', '--gpu-layers', 'MAX', '--cpu-moe', ' all ', '--context', '2048', '--threads', '3');
    const vscode = loadOptionsFrom(parseConfig({ get: <T>(key: string) => ({ gpuLayers: 'MAX', moeOffload: ' all ', contextSize: 2048, threads: 3 })[key] as T }), '/m.gguf');
    expect(options).toEqual(vscode);
    expect(options).toEqual({ modelPath: '/m.gguf', gpuLayers: 'max', cpuMoe: 'all', contextSize: 2048, threads: 3 });
  });

  it('a server with a routing shape', async () => {
    const { options } = await cliLoad('--endpoint', 'http://127.0.0.1:9', '--model', 'q', '--routing-shape', '58 x 8', '--no-stream', '--context', '2048');
    const vscode = remoteOptionsFrom(parseConfig({ get: <T>(key: string) => ({ server: 'http://127.0.0.1:9', serverModel: 'q', serverRoutingShape: '58 x 8', serverStream: false, contextSize: 2048 })[key] as T }), undefined);
    expect(options).toEqual(vscode);
    expect(options).toMatchObject({ routingShape: { moeLayers: 58, expertsPerToken: 8 } });
  });

  it('the CLI refuses what the settings fall back from, in the grammar\'s words', async () => {
    expect((await cliLoad('/m.gguf', '--gpu-layers', '-1')).error).toMatch(/expected auto, max or a number of layers/);
    expect((await cliLoad('--endpoint', 'http://127.0.0.1:9', '--routing-shape', '58')).error).toMatch(/expected LAYERSxK, e\.g\. 58x8/);
    const settings = parseConfig({ get: <T>(key: string) => ({ gpuLayers: '-1', serverRoutingShape: '58' })[key] as T });
    expect(settings.gpuLayers).toBe('auto');
    expect(settings).not.toHaveProperty('serverRoutingShape');
  });
});
