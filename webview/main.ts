// Webview entry point (bundled by scripts/build.mjs to dist/webview/webview.js + webview.css).
import './styles.css';
import './evals/evals.css';
import { startApp } from './app';

const app = startApp();
(globalThis as unknown as { __moeLens?: unknown }).__moeLens = app;
