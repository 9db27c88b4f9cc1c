// Entry of the evals views; the webview shell mounts it and includes evals.css.
export { mountEvalsView, handleEvalsMessage } from './view';
