// Human-readable model facts for `moe-lens inspect`.
import type { ModelInfo, PlacementReport } from '../engine/types';
import { MISSING, formatBytes, formatCapabilities, formatCount } from '../format';
import { describeRpcDevice } from '../engine/rpc';

export function formatModelInfo(info: ModelInfo): string {
  const p = info.placement;
  const r = info.routing;
  const rows: [string, string][] = [
    ['model', info.name],
    ...(info.remote
      ? ([
          ['server', `${info.remote.endpoint} (${info.remote.server})`],
          ['capabilities', formatCapabilities(info.capabilities)],
        ] as [string, string][])
      : ([['file', `${info.path} (${formatBytes(info.fileBytes)})`]] as [string, string][])),
    ['architecture', info.architecture],
    ['layers', info.layers ? String(info.layers) : MISSING],
    [
      'experts',
      r
        ? `${r.experts || '?'} per layer in ${r.moeLayers.length} MoE layers, ${r.expertsPerToken} used per token${r.sharedExperts ? `, ${r.sharedExperts} shared` : ''}`
        : info.remote
          ? 'not reported by the server'
          : 'none (dense model)',
    ],
    ...(info.totalParams !== undefined
      ? ([['parameters', `${formatCount(info.totalParams)} total, ${formatCount(info.activeParams)} active per token`]] as [string, string][])
      : []),
    ['context', `${info.contextSize} tokens${info.trainContextLength ? ` (trained for ${info.trainContextLength})` : ''}`],
    ['chat template', info.remote ? "the server's" : info.hasChatTemplate ? 'yes' : 'no'],
    ...(p ? placementRows(p, info.layers ?? 0) : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/**
 * `inspect --json`: ModelInfo with `routing` flattened into the top-level fields scripts read (layers, moeLayers,
 * experts, expertsPerToken, modelExpertsPerToken, sharedExperts, isMoe), 0, [] and false when a model has none.
 */
export function modelInfoJson(info: ModelInfo): Record<string, unknown> {
  const { path, name, architecture, layers, routing, ...rest } = info;
  return {
    path,
    name,
    architecture,
    layers: layers ?? 0,
    moeLayers: routing?.moeLayers ?? [],
    experts: routing?.experts ?? 0,
    expertsPerToken: routing?.expertsPerToken ?? 0,
    ...(routing?.modelExpertsPerToken !== undefined ? { modelExpertsPerToken: routing.modelExpertsPerToken } : {}),
    sharedExperts: routing?.sharedExperts ?? 0,
    isMoe: routing !== undefined,
    ...rest,
  };
}

function placementRows(p: PlacementReport, layers: number): [string, string][] {
  return [
    ['backend', p.backend],
    ['GPU layers', String(p.gpuLayers)],
    [
      'MoE offload',
      `experts of ${p.cpuMoeLayers === layers ? 'all' : p.cpuMoeLayers} of ${layers} layers pinned to system RAM; ` +
        `expert weights: ${formatBytes(p.expertBytesInRam)} in RAM, ${formatBytes(p.expertBytesOnGpu)} on GPU`,
    ],
    ...(p.overriddenExpertLayers?.length
      ? [['experts in RAM', `llama.cpp placed the experts of layers ${p.overriddenExpertLayers.join(', ')} in system RAM`] as [string, string]]
      : []),
    [p.planned ? 'planned weights' : 'weights', p.weights.map((w) => `${w.device} ${formatBytes(w.bytes)}`).join(', ')],
    ...(p.devices ?? []).map((d) => [`device ${d.name}`, describeRpcDevice(d)] as [string, string]),
    ...(p.contextBytes ? [['context memory', formatBytes(p.contextBytes)] as [string, string]] : []),
    ...p.notes.map((note) => ['note', note] as [string, string]),
  ];
}
