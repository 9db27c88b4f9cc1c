// Human-readable model facts for `moe-lens inspect`.
import type { ModelInfo } from '../engine/types';
import { formatBytes, formatCount } from '../format';

export function formatModelInfo(info: ModelInfo): string {
  const p = info.placement;
  const rows: [string, string][] = [
    ['model', info.name],
    ['file', `${info.path} (${formatBytes(info.fileBytes)})`],
    ['architecture', info.architecture],
    ['layers', String(info.layers)],
    [
      'experts',
      info.isMoe
        ? `${info.experts} per layer in ${info.moeLayers.length} MoE layers, ${info.expertsPerToken} used per token${info.sharedExperts ? `, ${info.sharedExperts} shared` : ''}`
        : 'none (dense model)',
    ],
    ['parameters', `${formatCount(info.totalParams)} total, ${formatCount(info.activeParams)} active per token`],
    ['context', `${info.contextSize} tokens (trained for ${info.trainContextLength})`],
    ['chat template', info.hasChatTemplate ? 'yes' : 'no'],
    ['backend', p.backend],
    ['GPU layers', String(p.gpuLayers)],
    [
      'MoE offload',
      `experts of ${p.cpuMoeLayers === info.layers ? 'all' : p.cpuMoeLayers} of ${info.layers} layers pinned to system RAM; ` +
        `expert weights: ${formatBytes(p.expertBytesInRam)} in RAM, ${formatBytes(p.expertBytesOnGpu)} on GPU`,
    ],
    ...(p.overriddenExpertLayers?.length
      ? [['experts in RAM', `llama.cpp placed the experts of layers ${p.overriddenExpertLayers.join(', ')} in system RAM`] as [string, string]]
      : []),
    [p.planned ? 'planned weights' : 'weights', p.weights.map((w) => `${w.device} ${formatBytes(w.bytes)}`).join(', ')],
    ...(p.contextBytes ? [['context memory', formatBytes(p.contextBytes)] as [string, string]] : []),
    ...p.notes.map((note) => ['note', note] as [string, string]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
