// Entry point of the engine process (forked by EngineClient). A llama.cpp abort kills only this process;
// the client reports it and starts a fresh one on the next call.
import { EngineError } from './errors';
import type { ClientToEngine, EngineToClient } from './ipc';
import { LocalEngine } from './local-engine';
import { invoke, isEngineMethod, withControl } from './surface';

const send = (message: EngineToClient) => process.send?.(message);
const engine = new LocalEngine((level, message) => send({ type: 'log', level, message }));
const cancels = new Map<number, AbortController>();

process.on('message', (message: ClientToEngine) => {
  if (message.type === 'cancel') {
    cancels.get(message.id)?.abort();
    return;
  }
  const { id, method } = message;
  const controller = new AbortController();
  cancels.set(id, controller);
  Promise.resolve()
    .then(() => {
      if (!isEngineMethod(method)) throw new EngineError('internal', `the engine has no method ${String(method)}`);
      return invoke(engine, method, withControl(method, message.args, controller.signal, (event, value) => send({ type: 'event', id, event, value })));
    })
    .then((value) => send({ type: 'result', id, value }))
    .catch((error: unknown) => {
      const known = error instanceof EngineError;
      send({
        type: 'error',
        id,
        code: known ? error.code : 'internal',
        message: known ? error.message : String((error as Error)?.message ?? error),
      });
    })
    .finally(() => cancels.delete(id));
});

// The parent went away: free the model and leave.
process.on('disconnect', () => {
  void engine.dispose().finally(() => process.exit(0));
});
