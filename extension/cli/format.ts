// Human-readable model facts for `moe-lens inspect`.
import type { ModelInfo, PlacementReport } from '../engine/types';
import { formatBytes, formatCapabilities, formatCount } from '../format';

export function formatModelInfo(info: ModelInfo): string {
  const p = info.placement;
  const rows: [string, string][] = [
    ['model', info.name],
    ...(info.remote
      ? ([
          ['server', `${info.remote.endpoint} (${info.remote.server})`],
          ['capabilities', formatCapabilities(info.capabilities)],
        ] as [string, string][])
      : ([['file', `${info.path} (${formatBytes(info.fileBytes)})`]] as [string, string][])),
    ['architecture', info.architecture],
    ['layers', info.layers ? String(info.layers) : '—'],
    [
      'experts',
      info.isMoe
        ? `${info.experts || '?'} per layer in ${info.moeLayers.length} MoE layers, ${info.expertsPerToken} used per token${info.sharedExperts ? `, ${info.sharedExperts} shared` : ''}`
        : info.remote
          ? 'not reported by the server'
          : 'none (dense model)',
    ],
    ...(info.totalParams !== undefined
      ? ([['parameters', `${formatCount(info.totalParams)} total, ${formatCount(info.activeParams)} active per token`]] as [string, string][])
      : []),
    ['context', `${info.contextSize} tokens${info.trainContextLength ? ` (trained for ${info.trainContextLength})` : ''}`],
    ['chat template', info.remote ? "the server's" : info.hasChatTemplate ? 'yes' : 'no'],
    ...(p ? placementRows(p, info.layers) : []),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
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
    ...(p.contextBytes ? [['context memory', formatBytes(p.contextBytes)] as [string, string]] : []),
    ...p.notes.map((note) => ['note', note] as [string, string]),
  ];
}
