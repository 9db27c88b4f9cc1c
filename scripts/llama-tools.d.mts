// Types for scripts/llama-tools.mjs (imported by TypeScript scripts and tests).
export function releaseTag(): string;
export function toolsDir(): string;
export function binDir(): string;
export function buildTools(targets: string[]): void;
export function rpcServerPath(): string;
export function rpcBackendPath(): string;
export function buildRpc(): void;
