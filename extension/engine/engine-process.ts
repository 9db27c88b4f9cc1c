// Entry point of the engine process (forked by EngineClient). A llama.cpp abort kills only this process;
// the client reports it and starts a fresh one on the next call.
import { EngineError } from './errors';
import type { ClientToEngine, EngineCall, EngineMethod, EngineResult, EngineToClient } from './ipc';
import { LocalEngine } from './local-engine';

const send = (message: EngineToClient) => process.send?.(message);
const engine = new LocalEngine((level, message) => send({ type: 'log', level, message }));
const cancels = new Map<number, AbortController>();

async function run(id: number, call: EngineCall, signal: AbortSignal): Promise<EngineResult<EngineMethod>> {
  switch (call.method) {
    case 'inspect':
      return engine.inspect(call.options);
    case 'load':
      return engine.load(call.options, signal);
    case 'unload':
      return engine.unload();
    case 'tokenize':
      return engine.tokenize(call.text);
    case 'detokenize':
      return engine.detokenize(call.ids);
    case 'countTokens':
      return engine.countTokens(call.input);
    case 'generate':
      return engine.generate(call.request, { signal, onFrame: (frame) => send({ type: 'frame', id, frame }) });
    case 'perplexity':
      return engine.perplexity(call.request, { signal, onProgress: (progress) => send({ type: 'progress', id, progress }) });
  }
}

process.on('message', (message: ClientToEngine) => {
  if (message.type === 'cancel') {
    cancels.get(message.id)?.abort();
    return;
  }
  const controller = new AbortController();
  cancels.set(message.id, controller);
  run(message.id, message.call, controller.signal)
    .then((value) => send({ type: 'result', id: message.id, value }))
    .catch((error: unknown) => {
      const known = error instanceof EngineError;
      send({
        type: 'error',
        id: message.id,
        code: known ? error.code : 'internal',
        message: known ? error.message : String((error as Error)?.message ?? error),
      });
    })
    .finally(() => cancels.delete(message.id));
});

// The parent went away: free the model and leave.
process.on('disconnect', () => {
  void engine.dispose().finally(() => process.exit(0));
});
