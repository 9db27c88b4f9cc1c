// The engine surface, declared once: every method's signature (EngineMethods) and how a call travels
// (ENGINE_METHODS). The process client, the engine process's dispatch, AnyEngine's backend dispatch and the test
// fake are derived from these two through one generic forwarder (EngineForwarder), so adding an engine method
// means one line in each, plus its implementations (LocalEngine, RemoteEngine). No `vscode` import here.
import type { GenerateCallbacks, GenerateInput, GenerateRequest, GenerationResult, LoadOptions, ModelInfo, PerplexityCallbacks, PerplexityRequest, PerplexityResult, RouteRequest, RouteResult } from './types';

/**
 * Every engine method (the `Engine` interface adds `model` and `dispose`). `O` is the load options an engine
 * accepts, `I` the model facts it reports. A method's last parameter may be an AbortSignal or callbacks (a `signal`
 * and event listeners `on…`); they stay on the caller's side of a process boundary, every other argument and the
 * result cross it (structured clone: typed arrays travel as they are).
 */
export interface EngineMethods<O extends LoadOptions = LoadOptions, I extends ModelInfo = ModelInfo> {
  /** Model facts (and for a GGUF the placement plan) without loading weights. */
  inspect(options: O): Promise<I>;
  load(options: O, signal?: AbortSignal): Promise<I>;
  unload(): Promise<void>;
  tokenize(text: string): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Tokens the input takes once rendered (chat template applied for chat input). */
  countTokens(input: GenerateInput): Promise<number>;
  generate(request: GenerateRequest, callbacks?: GenerateCallbacks): Promise<GenerationResult>;
  perplexity(request: PerplexityRequest, callbacks?: PerplexityCallbacks): Promise<PerplexityResult>;
  /** Texts evaluated for their routing only, several per call (the routing atlas's capture pass). */
  routeTexts(request: RouteRequest, signal?: AbortSignal): Promise<RouteResult>;
}

export type EngineMethod = keyof EngineMethods;

type Params<M extends EngineMethod> = Required<Parameters<EngineMethods[M]>>;
type LastParam<M extends EngineMethod> = Params<M> extends [...unknown[], infer L] ? L : never;
/** What the method's last parameter is: derived from its signature, so the table below cannot disagree with it. */
type ControlOf<M extends EngineMethod> = [LastParam<M>] extends [never]
  ? 'none'
  : LastParam<M> extends AbortSignal
    ? 'signal'
    : LastParam<M> extends { signal?: AbortSignal }
      ? 'callbacks'
      : 'none';
type DataArity<M extends EngineMethod> = ControlOf<M> extends 'none' ? Params<M>['length'] : Params<M> extends [...infer D, unknown] ? D['length'] : never;
type EventsOf<M extends EngineMethod> = ControlOf<M> extends 'callbacks' ? Exclude<keyof LastParam<M>, 'signal'> & string : never;

/** How one method's calls travel and where AnyEngine sends them. */
export interface MethodSpec {
  /**
   * 'options': to the backend its load options (first argument) name; 'model': to the engine holding the loaded
   * model (the process client loads it again first after a crash); 'lifecycle': each wrapper's own code (load,
   * unload), forwarded as is over a process boundary.
   */
  route: 'options' | 'model' | 'lifecycle';
  /** The arguments that cross a process boundary: the ones before the control parameter. */
  args: number;
  /** The last parameter: none, an AbortSignal, or callbacks (`signal` and listeners). */
  control: 'none' | 'signal' | 'callbacks';
  /** With control 'callbacks': the listeners that receive events from across a process boundary. */
  events: readonly string[];
}

/** A method's entry, checked against its signature. */
type CheckedSpec<M extends EngineMethod> = MethodSpec & { args: DataArity<M>; control: ControlOf<M>; events: readonly EventsOf<M>[] };

/** The method map at run time. The compiler checks each entry against the method's signature above. */
export const ENGINE_METHODS: { readonly [M in EngineMethod]: CheckedSpec<M> } = {
  inspect: { route: 'options', args: 1, control: 'none', events: [] },
  load: { route: 'lifecycle', args: 1, control: 'signal', events: [] },
  unload: { route: 'lifecycle', args: 0, control: 'none', events: [] },
  tokenize: { route: 'model', args: 1, control: 'none', events: [] },
  detokenize: { route: 'model', args: 1, control: 'none', events: [] },
  countTokens: { route: 'model', args: 1, control: 'none', events: [] },
  generate: { route: 'model', args: 1, control: 'callbacks', events: ['onFrame', 'onCapabilities'] },
  perplexity: { route: 'model', args: 1, control: 'callbacks', events: ['onProgress'] },
  routeTexts: { route: 'model', args: 1, control: 'signal', events: [] },
};

export const ENGINE_METHOD_NAMES = Object.keys(ENGINE_METHODS) as EngineMethod[];

export function isEngineMethod(name: unknown): name is EngineMethod {
  return typeof name === 'string' && Object.hasOwn(ENGINE_METHODS, name);
}

/** Calls `method` on `engine` with arguments as a forwarder received them. */
export function invoke(engine: EngineMethods<never, ModelInfo>, method: EngineMethod, args: readonly unknown[]): Promise<unknown> {
  return (engine[method] as (...a: unknown[]) => Promise<unknown>).apply(engine, args as unknown[]);
}

/** The control argument of a call as made (the AbortSignal, or the callbacks), if the caller passed one. */
export function controlOf(method: EngineMethod, args: readonly unknown[]): { signal?: AbortSignal; listeners: Record<string, (value: unknown) => void> } {
  const spec: MethodSpec = ENGINE_METHODS[method];
  const control = args[spec.args];
  if (spec.control === 'signal') return { signal: control as AbortSignal | undefined, listeners: {} };
  if (spec.control === 'none' || !control) return { listeners: {} };
  const callbacks = control as { signal?: AbortSignal } & Record<string, (value: unknown) => void>;
  return { signal: callbacks.signal, listeners: Object.fromEntries(spec.events.map((e) => [e, callbacks[e]]).filter(([, l]) => l)) };
}

/** The inverse of `controlOf` on the far side of a process boundary: the arguments to call the engine with. */
export function withControl(method: EngineMethod, data: readonly unknown[], signal: AbortSignal, emit: (event: string, value: unknown) => void): unknown[] {
  const spec: MethodSpec = ENGINE_METHODS[method];
  const args = data.slice(0, spec.args);
  if (spec.control === 'signal') args.push(signal);
  else if (spec.control === 'callbacks') args.push(Object.fromEntries([['signal', signal], ...spec.events.map((e) => [e, (value: unknown) => emit(e, value)])]));
  return args;
}

/** The one generic forwarder: every engine method, as a call of `forward(method, args)`. */
abstract class Forwarder {
  /** Handles a call of any engine method; `args` as the caller passed them (control parameter included). */
  protected abstract forward(method: EngineMethod, args: unknown[]): Promise<unknown>;
}
for (const method of ENGINE_METHOD_NAMES) {
  Object.defineProperty(Forwarder.prototype, method, {
    value(this: Forwarder, ...args: unknown[]) {
      return this.forward(method, args);
    },
    writable: true,
    configurable: true,
  });
}

/**
 * Base class of an engine derived from the method map: a subclass implements `forward` and may override any method
 * with its own code (e.g. `load`, for bookkeeping).
 */
export const EngineForwarder = Forwarder as unknown as abstract new <O extends LoadOptions, I extends ModelInfo>() => Forwarder & EngineMethods<O, I>;
