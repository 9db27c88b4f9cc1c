// Entry of the evals views; the webview shell mounts it and includes evals.css.
export { mountEvalsView, handleEvalsMessage, EvalsView, type EvalsHost } from './view';
export { histogram, bars } from './charts';
