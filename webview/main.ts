// Webview entry point (bundled by scripts/build.mjs to dist/webview/webview.js + webview.css).
import './styles.css';
import './evals/evals.css';
import { startApp } from './app';
import { startEvalsPanel } from './evals-panel';

// One bundle, two pages: the sidebar (chat, lens, a compact Evals tab) and the evals editor tab.
const root = document.getElementById('root') ?? document.body;
if (root.dataset.mode === 'evals') startEvalsPanel(root);
else (globalThis as unknown as { __moeLens?: unknown }).__moeLens = startApp(root);
