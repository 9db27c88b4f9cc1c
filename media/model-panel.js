// The Model panel's only script: posts the top-k control's choice to the extension (which sets
// moeLens.expertsPerToken and reloads the model). Loaded with the page's nonce under its strict CSP.
const vscode = acquireVsCodeApi();
const select = document.getElementById('top-k');
if (select) {
  select.addEventListener('change', () => vscode.postMessage({ type: 'expertsPerToken', value: Number(select.value) }));
  select.dataset.ready = 'true';
}
