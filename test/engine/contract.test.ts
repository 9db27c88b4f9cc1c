// The engine contract (contract.ts) against every Engine: the local engine process on a generated MoE fixture, the
// remote engine against a real llama-server and against `moe-lens serve`, and the test fake.
import { afterAll, beforeAll, describe } from 'vitest';
import { EngineClient } from '../../extension/engine/client';
import { RemoteEngine } from '../../extension/engine/remote-engine';
import type { Engine } from '../../extension/engine/types';
import { FakeEngine } from '../fake-engine';
import { engineContract } from './contract';
import { MOE } from './helpers';
import { startLlamaServer, startMoeLensServe, type RunningServer } from '../remote/servers';

const engines: Engine[] = [];
const track = <E extends Engine>(e: E): E => (engines.push(e), e);
afterAll(async () => {
  await Promise.all(engines.map((e) => e.dispose()));
});

describe('local engine (engine process)', () => {
  engineContract({ engine: () => track(new EngineClient()), options: () => ({ modelPath: MOE }) });
});

describe('remote engine, llama-server', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startLlamaServer({ parallel: 1, slotContext: 512 });
  });
  afterAll(async () => server?.kill());
  engineContract({ engine: () => track(new RemoteEngine()), options: () => ({ backend: 'remote', endpoint: server.url }) });
});

describe('remote engine, moe-lens serve', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startMoeLensServe();
  });
  afterAll(async () => server?.kill());
  engineContract({ engine: () => track(new RemoteEngine()), options: () => ({ backend: 'remote', endpoint: server.url }) });
});

describe('test fake', () => {
  engineContract({ engine: () => track(new FakeEngine()), options: () => ({ modelPath: '/m/fake.gguf' }) });
});
