// Bundles the extension host, the engine process, the CLI (CommonJS for Node) and the webview (ESM for the browser).
// node-llama-cpp stays external: it is ESM with top-level await and ships native binaries.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeEntries = {
  extension: 'extension/extension.ts',
  'engine-process': 'extension/engine/engine-process.ts',
  cli: 'extension/cli/main.ts',
};

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'info' };

const nodeBuild = {
  ...common,
  entryPoints: Object.fromEntries(Object.entries(nodeEntries).filter(([, file]) => existsSync(file))),
  outdir: 'dist',
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // `vscode` is provided by the host; node-llama-cpp is loaded with a real dynamic import().
  external: ['vscode', 'node-llama-cpp'],
  // Keep `await import('node-llama-cpp')` a real import() in CommonJS output.
  supported: { 'dynamic-import': true },
};

const webviewBuild = {
  ...common,
  entryPoints: { webview: 'webview/main.ts' },
  outdir: 'dist/webview',
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  loader: { '.css': 'css' },
};

const builds = [nodeBuild, ...(existsSync('webview/main.ts') ? [webviewBuild] : [])];
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
