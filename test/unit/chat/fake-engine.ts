// The chat tests' view of the one test engine (test/fake-engine.ts): character tokens, a 256-token context and a
// scripted answer ("Hello" after a three-token prompt), plus frame and result builders for scripts.
import type { GenerationResult, ModelInfo, TokenFrame } from '../../../extension/engine/types';
import { FakeEngine, type Script } from '../../fake-engine';

export { FakeEngine, charCount, sleep, type Script } from '../../fake-engine';

export function fakeInfo(path: string, contextSize = 256): ModelInfo {
  return new FakeEngine({ contextSize }).info({ modelPath: path });
}

export function frame(phase: 'prompt' | 'generated', firstIndex: number, ids: number[], textDelta: string): TokenFrame {
  const layers = 2;
  const k = 2;
  const experts = new Uint16Array(ids.length * layers * k);
  const weights = new Float32Array(ids.length * layers * k);
  for (let i = 0; i < experts.length; i++) {
    experts[i] = (firstIndex * 7 + i) % 4;
    weights[i] = 0.25 + (i % 3) / 10;
  }
  return { phase, firstIndex, ids: Int32Array.from(ids), texts: ids.map((id) => `<${id}>`), textDelta, experts, weights, k, layers };
}

/** The chat tests' default answer: prompt [1,2,3], then "Hel" + "lo". */
export const helloScript: Script = async (_req, cb) => {
  const prompt = [1, 2, 3];
  cb.onFrame?.(frame('prompt', 0, prompt, ''));
  cb.onFrame?.(frame('generated', 3, [10], 'Hel'));
  cb.onFrame?.(frame('generated', 4, [11], 'lo'));
  return result('Hello', 'eos', prompt.length, 2);
};

/** The test engine as the chat tests use it. */
export function chatFakeEngine(): FakeEngine {
  return new FakeEngine({ tokens: 'chars', contextSize: 256, script: helloScript, experts: 4 });
}

export function result(text: string, stopReason: GenerationResult['stopReason'], promptTokens: number, generatedTokens: number): GenerationResult {
  return { text, stopReason, promptTokens, generatedTokens, promptTokensPerSecond: 100, generatedTokensPerSecond: 42, timeToFirstTokenMs: 5, routingCaptured: true };
}
