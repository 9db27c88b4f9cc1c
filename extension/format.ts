// One formatter per quantity, shared by the CLI, the extension host's panels and pickers and the webview (no vscode
// import, no Node import).
// Not-a-number and negative inputs render as MISSING so a missing figure never reads as a real one.
import type { EngineCapabilities, ModelIdentity, ModelInfo, RoutingAbsence } from './engine/types';
import { prunedFrom } from './engine/original-experts';

/** The one mark of a missing value, in every table, panel and report. */
export const MISSING = '—';

/** Bytes in binary units: "512 B", "3.5 KiB", "22.9 MiB", "1.25 GiB". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return MISSING;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Large counts (parameters, tokens) with decimal suffixes: "950", "12.5 K", "11.35 M", "46.7 B". */
export function formatCount(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return MISSING;
  if (n >= 1e9) return `${(n / 1e9).toFixed(n >= 1e10 ? 1 : 2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** A count with its noun, singular for one: "1 sample", "10 samples" (`plural` for irregular nouns). */
export function formatNoun(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

const missing = (v: number | undefined | null): v is undefined | null => v === undefined || v === null || !Number.isFinite(v);

/** A share or rate as a percentage: 0.276 → "27.6%" (digits after the point); missing → MISSING. */
export function formatPercent(value: number | undefined | null, digits = 1): string {
  return missing(value) ? MISSING : `${(value * 100).toFixed(digits)}%`;
}

/** A plain decimal with fixed digits (entropies, agreement, ratios); missing → MISSING. */
export function formatDecimal(value: number | undefined | null, digits = 2): string {
  return missing(value) ? MISSING : value.toFixed(digits);
}

/** A speed: "64.8 tok/s"; missing → MISSING. */
export function formatTokensPerSecond(value: number | undefined | null): string {
  return missing(value) ? MISSING : `${value.toFixed(1)} tok/s`;
}

/** How an eval metric's value reads: ROUGE scores ×100, rates in %, milliseconds, tokens/s, counts, ratios. */
export type MetricUnit = 'score' | 'rate' | 'ms' | 'tokens/s' | 'count' | 'ratio';

/** One metric value for tables and charts; a missing value (no sample, no reference) is MISSING, never 0. */
export function formatMetric(value: number | undefined | null, unit: MetricUnit): string {
  if (missing(value)) return MISSING;
  switch (unit) {
    case 'score':
      return (value * 100).toFixed(1);
    case 'rate':
      return formatPercent(value, 0);
    case 'ms':
      return `${Math.round(value)} ms`;
    case 'tokens/s':
      return formatTokensPerSecond(value);
    case 'count':
      return String(Math.round(value));
    case 'ratio':
      return formatDecimal(value, 2);
  }
}

/** A duration for people: "45 s", "4 min 10 s", "1 h 05 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return MISSING;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A short wait for people: "420 ms", "7.3 s", then as formatDuration ("1 min 05 s"). */
export function formatWait(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return MISSING;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(ms);
}

/** A perplexity as llama-perplexity prints it: four decimals ("12.3456"). */
export function formatPerplexity(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : MISSING;
}

/** A signed change with a fixed number of decimals ("+0.125", "-1.500", "0.000"). */
export function formatDelta(value: number, decimals = 3): string {
  if (!Number.isFinite(value)) return MISSING;
  const text = value.toFixed(decimals);
  return value > 0 && Number(text) !== 0 ? `+${text}` : Number(text) === 0 ? (0).toFixed(decimals) : text;
}

/** Between a server's model and its endpoint in `formatModelIdentity`'s text. */
const AT_ENDPOINT = ' @ ';

/** Which model, for logs, progress, the model info and eval keys: the GGUF path, or "MODEL @ ENDPOINT" (`default` for the server's first). */
export function formatModelIdentity(identity: ModelIdentity): string {
  return identity.kind === 'local' ? identity.path : `${identity.model || 'default'}${AT_ENDPOINT}${identity.endpoint}`;
}

/**
 * A model's short name for tables, progress and titles: a GGUF file's name without directory and `.gguf`; for a
 * server's model, the model's own short name (llama-server names its model by the file's full path), `default` for
 * the server's first. Takes a GGUF path, a model id, or a model identity; never an eval key's text.
 */
export function formatModelName(target: string | ModelIdentity): string {
  const name = typeof target === 'string' ? target : target.kind === 'local' ? target.path : target.model || 'default';
  return (name.split(/[\\/]/).filter(Boolean).pop() ?? name).replace(/\.gguf$/i, '');
}

/**
 * A model's name where the UI names it (the chat header, the status bar, the model actions and info): its own name,
 * and for a pruned model (which keeps the original's general.name) the experts kept of those it had, e.g.
 * "MoE Lens demo · pruned 6/8". Short for the 320 px sidebar; the lens says the rest.
 */
export function formatModelLabel(info: Pick<ModelInfo, 'name' | 'routing'>): string {
  const r = info.routing;
  const before = prunedFrom(r);
  return r && before !== undefined ? `${info.name} · pruned ${r.experts}/${before}` : info.name;
}

/** Why a model's tokens have no routing, in one sentence for the lens and the model panel. */
export function routingAbsenceText(reason: RoutingAbsence | undefined, modelName: string): string {
  switch (reason) {
    case 'dense-model':
      return `${modelName} is a dense model: it has no experts, so there is no routing to show. Chat works as usual.`;
    case 'server-flag-off':
      return `The server can report routed experts but was started without it: restart it with --enable-return-routed-experts (SGLang, vLLM) to see routing here.`;
    case 'vllm-streaming':
      return `vLLM reports routed experts only for answers that are not streamed; this chat streams, so the routing of its answers is not available.`;
    case 'shape-unknown':
      return `The server reports routed experts without their shape: set the number of MoE layers and experts per token for this server (moeLens.serverRoutingShape) to see them.`;
    case 'server-does-not-report':
    case undefined:
      return `This server does not report which experts the router chose (only SGLang, vLLM and moe-lens serve do), so there is no routing to show. Chat works as usual.`;
  }
}

/** The capabilities of a loaded model, as one line: "routing ids + gate weights · exact token counts · placement". */
export function formatCapabilities(c: EngineCapabilities): string {
  return [
    c.routingIds ? (c.gateWeights ? 'routing ids + gate weights' : 'routing ids (no gate weights)') : 'no routing',
    c.tokenIds ? 'token ids' : 'text only',
    c.tokenCounting === 'exact' ? 'exact token counts' : 'estimated token counts',
    ...(c.placement ? ['placement'] : []),
    ...(c.interventions ? ['interventions'] : []),
    ...(c.concurrentRequests ? ['concurrent requests'] : []),
  ].join(' · ');
}
