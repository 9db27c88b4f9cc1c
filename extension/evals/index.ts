// Public API of the long-summary evaluations (no vscode import anywhere here).
export * from './types';
export { isFile, loadSuite, parseSuite, parseItems, loadItemsFile, renderTemplate, EvalConfigError } from './suite';
export { prepareInput, truncateMiddle, chunkByTokens, buildInput, LongInputError } from './long-input';
export { runEval, runSample, sampleKey, type RunOptions, type EngineProvider } from './runner';
export { loadRun, listRuns, loadRunItem, readSamples } from './run-files';
export { computeSummary, renderReport, compareRuns, distribution } from './aggregate';
export { scoreFile, scorePredictions, parsePredictions, type ScoreResult } from './score';
export * from './metrics';
export type * from './protocol';
export { answerEvalsRequest, type EvalsHostOptions } from './host';
