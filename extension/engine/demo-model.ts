// The built-in demo model: a small Mixtral-style MoE trained by scripts/train-demo on English prose and code,
// committed as models/demo/demo-moe.gguf and shipped inside the extension. It continues text; it is not an
// assistant. No vscode import: the extension, the CLI (`moe-lens generate demo …`) and the tests share it.
import * as path from 'node:path';
import { packageRoot } from './native';

/** What the CLI and settings accept in place of a model path. */
export const DEMO_MODEL_ARG = 'demo';
/** The demo's one name everywhere: its GGUF's `general.name` (what every loaded model is called by). */
export const DEMO_MODEL_NAME = 'MoE Lens demo';
export const DEMO_MODEL_DESCRIPTION = 'an 11 M-parameter MoE trained on prose and code: it continues your text, it is not an assistant';
export const DEMO_MODEL_LABEL = `${DEMO_MODEL_NAME} — ${DEMO_MODEL_DESCRIPTION}`;
/** GGUF `general.tags` entry of models that continue text rather than follow a chat (the chat sends no system prompt). */
export const TEXT_CONTINUATION_TAG = 'text-continuation';

export function demoModelFile(): string {
  return path.join(packageRoot(), 'models', 'demo', 'demo-moe.gguf');
}

/** A model argument as the user typed it: `demo` is the built-in model, anything else a path. */
export function resolveModelArg(model: string): string {
  return model === DEMO_MODEL_ARG ? demoModelFile() : model;
}
