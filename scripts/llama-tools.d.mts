// Types of scripts/llama-tools.mjs for the TypeScript tests that build and run llama.cpp's own tools.
export function releaseTag(): string;
export function toolsDir(): string;
export function binDir(): string;
export function buildTools(targets: string[]): void;
