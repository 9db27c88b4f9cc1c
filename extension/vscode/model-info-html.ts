// The Model panel: plain HTML built from ModelInfo with escaping (no vscode import). Its one script,
// media/model-panel.js, only posts the top-k control's choice (a local MoE model's).
import type { ModelInfo, ModelRouting, PlacementReport } from '../engine/types';
import { DEMO_MODEL_DESCRIPTION } from '../engine/demo-model';
import { formatBytes, formatCapabilities, formatCount, formatModelLabel, formatPercent, routingAbsenceText } from '../format';
import { buildPage, escapeHtml } from './html';

function row(label: string, value: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${value}</td></tr>`;
}

export interface ModelPanelState {
  info?: ModelInfo;
  isDemo: boolean;
  /** 'loaded' = facts from the running engine; 'planned' = from the GGUF alone. */
  source: 'loaded' | 'planned';
  error?: string;
  /** The moeLens.expertsPerToken setting (0 = the model's own): the top-k control's selection. */
  expertsPerTokenSetting?: number;
}

/** The top-k control: the model's own or 1..experts; media/model-panel.js posts the choice. */
function topKControl(routing: ModelRouting, setting: number): string {
  const own = routing.modelExpertsPerToken ?? routing.expertsPerToken;
  const options = [`<option value="0"${setting === 0 ? ' selected' : ''}>the model's own (${escapeHtml(own)})</option>`];
  for (let k = 1; k <= routing.experts; k++) options.push(`<option value="${k}"${setting === k ? ' selected' : ''}>${k}</option>`);
  return (
    `${escapeHtml(routing.expertsPerToken)} · <label for="top-k">load with</label> ` +
    `<select id="top-k" data-testid="top-k">${options.join('')}</select> ` +
    `<span class="hint">(reloads the model; fewer experts per token is faster and usually worse)</span>`
  );
}

export function modelInfoBody(state: ModelPanelState): string {
  const { info } = state;
  if (!info) {
    return `<main><h1>MoE Lens — model</h1><p class="error">${escapeHtml(state.error ?? 'No model information available.')}</p></main>`;
  }
  const p = info.placement;
  const r = info.routing;
  const activeShare = info.totalParams && info.activeParams !== undefined ? ` (${formatPercent(info.activeParams / info.totalParams)})` : '';
  const known = (label: string, value: number | undefined, text = (v: number) => escapeHtml(v)) => (value === undefined ? [] : [row(label, text(value))]);
  const facts = [
    ...(info.remote
      ? [
          row('Server', `<code>${escapeHtml(info.remote.endpoint)}</code> (${escapeHtml(info.remote.server)})`),
          row('Model id', `<code>${escapeHtml(info.remote.model)}</code>`),
        ]
      : [row('File', `<code>${escapeHtml(info.path)}</code> (${escapeHtml(formatBytes(info.fileBytes))})`)]),
    row('Capabilities', escapeHtml(formatCapabilities(info.capabilities))),
    ...(info.capabilities.routingIds ? [] : [row('Routing', escapeHtml(routingAbsenceText(info.capabilities.routingAbsent, info.name)))]),
    row('Architecture', escapeHtml(info.architecture)),
    row('Mixture of experts', r ? 'yes' : info.remote ? 'not reported by the server' : 'no (dense model)'),
    // A local dense model shows its zeros; a server that reports no experts, nothing.
    ...(r || !info.remote
      ? [
          row('Experts', escapeHtml(r?.experts ?? 0)),
          row('Experts per token', r && !info.remote ? topKControl(r, state.expertsPerTokenSetting ?? 0) : escapeHtml(r?.expertsPerToken ?? 0)),
          ...(r?.sharedExperts ? [row('Shared experts', escapeHtml(r.sharedExperts))] : []),
          row('Layers', `${escapeHtml(info.layers ?? 0)} (${escapeHtml(r?.moeLayers.length ?? 0)} with an expert router)`),
        ]
      : []),
    ...known('Total parameters', info.totalParams, (v) => escapeHtml(formatCount(v))),
    ...known('Active parameters per token', info.activeParams, (v) => escapeHtml(formatCount(v) + activeShare)),
    ...known('Embedding length', info.embeddingLength),
    ...known('Vocabulary', info.vocabSize),
    row('Context', `${escapeHtml(info.contextSize)} tokens${info.trainContextLength ? ` (trained on ${escapeHtml(info.trainContextLength)})` : ''}`),
    row('Chat template', info.remote ? 'applied by the server' : info.hasChatTemplate ? 'from the model' : 'none in the GGUF (a generic one is used)'),
  ];
  const placementSection = p ? placementHtml(p) : '';
  return `<main>
<h1>${escapeHtml(formatModelLabel(info))}</h1>
${state.isDemo ? `<p class="demo">The built-in demo: ${escapeHtml(DEMO_MODEL_DESCRIPTION)}</p>` : ''}
<p class="source">${state.source === 'loaded' ? 'As loaded by the engine.' : 'Planned from the GGUF file (the model is not loaded yet).'}</p>
<section><h2>Model</h2><table class="facts">${facts.join('')}</table></section>
${placementSection}
</main>`;
}

function placementHtml(p: PlacementReport): string {
  const placement = [
    row('Backend', escapeHtml(p.backend.toUpperCase())),
    row('Layers on the GPU', escapeHtml(p.gpuLayers)),
    row('Layers whose experts stay in RAM', escapeHtml(p.cpuMoeLayers)),
    row('Expert weights in RAM', escapeHtml(formatBytes(p.expertBytesInRam))),
    row('Expert weights on the GPU', escapeHtml(formatBytes(p.expertBytesOnGpu))),
    ...(p.contextBytes !== undefined ? [row('KV cache + compute buffers', escapeHtml(formatBytes(p.contextBytes)))] : []),
  ];
  const devices = p.weights
    .map((w) => `<tr><td>${escapeHtml(w.device)}</td><td>${escapeHtml(formatBytes(w.bytes))}</td></tr>`)
    .join('');
  // RPC devices: llama.cpp's name, the server, its memory and the weights planned and allocated there.
  const rpc = p.devices?.length
    ? `<h3>RPC devices</h3><table class="devices"><thead><tr><th>Device</th><th>Server</th><th>Free / total memory</th><th>Weights planned / allocated</th></tr></thead><tbody>${p.devices
        .map(
          (d) =>
            `<tr><td>${escapeHtml(d.name)}</td><td><code>${escapeHtml(d.endpoint)}</code></td><td>${escapeHtml(`${formatBytes(d.freeBytes)} / ${formatBytes(d.totalBytes)}`)}</td>` +
            `<td>${escapeHtml(`${formatBytes(d.plannedBytes)} / ${d.allocatedBytes === undefined ? 'not loaded' : formatBytes(d.allocatedBytes)}`)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const notes = p.notes.length ? `<ul class="notes">${p.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<section><h2>Where the tensors live</h2><table class="facts">${placement.join('')}</table>
<h3>Memory per device</h3><table class="devices"><thead><tr><th>Device</th><th>Model weights</th></tr></thead><tbody>${devices || '<tr><td colspan="2">—</td></tr>'}</tbody></table>
${rpc}${notes}</section>`;
}

const PANEL_CSS = `
body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1.2em 2em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.5em; } h3 { font-size: 1em; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 3px 14px 3px 0; vertical-align: top; }
th[scope=row] { color: var(--vscode-descriptionForeground); font-weight: normal; }
.devices th { border-bottom: 1px solid var(--vscode-panel-border); }
.demo { padding: 6px 10px; border-left: 3px solid var(--vscode-editorWarning-foreground); background: var(--vscode-textBlockQuote-background); }
.error { color: var(--vscode-errorForeground); } .source { color: var(--vscode-descriptionForeground); }
code { font-family: var(--vscode-editor-font-family); word-break: break-all; }
.hint { color: var(--vscode-descriptionForeground); }
select { background: var(--vscode-dropdown-background); color: var(--vscode-dropdown-foreground); border: 1px solid var(--vscode-dropdown-border, transparent); }
`;

export function modelInfoPage(state: ModelPanelState, cspSource: string, nonce: string, scripts: string[] = []): string {
  return buildPage({ cspSource, nonce, title: 'MoE Lens — model', body: modelInfoBody(state), inlineStyle: PANEL_CSS, scripts });
}
