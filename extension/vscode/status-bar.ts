// Status bar item: model, state, tokens/s of the last answer; click opens a quick pick of the model actions.
import * as vscode from 'vscode';
import { formatCapabilities, formatTokensPerSecond } from '../format';
import type { ModelSummary } from '../protocol';

const ICONS: Record<ModelSummary['state'], string> = {
  idle: '$(circuit-board)',
  starting: '$(loading~spin)',
  loading: '$(loading~spin)',
  ready: '$(circuit-board)',
  generating: '$(sync~spin)',
  error: '$(error)',
};

export function statusText(model: ModelSummary, tokensPerSecond: number | undefined): { text: string; tooltip: string } {
  const name = model.label;
  const state = model.state === 'ready' || model.state === 'idle' ? '' : ` · ${model.state}`;
  const speed = tokensPerSecond !== undefined && Number.isFinite(tokensPerSecond) && model.state !== 'generating' ? ` · ${formatTokensPerSecond(tokensPerSecond)}` : '';
  const remote = model.info?.remote;
  const tooltip = [
    `MoE Lens — ${name}`,
    ...(remote ? [`Server: ${remote.endpoint} (${remote.server})`, `Capabilities: ${formatCapabilities(model.info!.capabilities)}`] : []),
    `State: ${model.state}${model.error ? ` (${model.error})` : ''}`,
    ...(tokensPerSecond !== undefined ? [`Last answer: ${formatTokensPerSecond(tokensPerSecond)}`] : []),
    `Routing capture: ${model.captureRouting ? 'on' : 'off'}`,
    'Click for model actions',
  ].join('\n');
  const where = remote ? ` @ ${new URL(remote.endpoint).host}` : '';
  return { text: `${ICONS[model.state]} ${name}${where}${state}${speed}`, tooltip };
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('moeLens.status', vscode.StatusBarAlignment.Right, 100);
  private tokensPerSecond: number | undefined;

  constructor() {
    this.item.name = 'MoE Lens';
    this.item.command = 'moeLens.modelActions';
  }

  update(model: ModelSummary, tokensPerSecond?: number): void {
    if (tokensPerSecond !== undefined) this.tokensPerSecond = tokensPerSecond;
    const { text, tooltip } = statusText(model, this.tokensPerSecond);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = model.state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
