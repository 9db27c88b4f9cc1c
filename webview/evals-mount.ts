// MOUNT POINT for the evals view (owned by the evals engineer: webview/evals/index.ts exports
// `mountEvalsView(root, host)`). Loaded lazily the first time the Evals tab opens. The import goes through a
// template literal so the bundle builds whether or not webview/evals/ exists yet: esbuild bundles every
// matching webview/evals/*.ts, and at runtime a missing module rejects and we show a placeholder.

import type { Host } from './host';

type MountEvals = (root: HTMLElement, host: Host) => void | (() => void) | { dispose(): void };

export async function mountEvals(root: HTMLElement, host: Host): Promise<boolean> {
  const name = 'index';
  try {
    const mod = (await import(`./evals/${name}.ts`)) as { mountEvalsView?: MountEvals };
    if (typeof mod.mountEvalsView !== 'function') throw new Error('webview/evals/index.ts has no mountEvalsView export');
    root.replaceChildren();
    mod.mountEvalsView(root, host);
    return true;
  } catch (error) {
    root.replaceChildren();
    const p = document.createElement('p');
    p.className = 'muted';
    p.dataset.testid = 'evals-unavailable';
    p.textContent = 'The evals view is not available in this build.';
    root.append(p);
    console.warn('MoE Lens: evals view not mounted', error);
    return false;
  }
}
