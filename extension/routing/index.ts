// Pure routing analytics: aggregates, token access, exports. No vscode, no DOM.
export * from './math';
export * from './aggregate';
export * from './tokens';
export * from './export';
export * from './normalize';
