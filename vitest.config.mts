import { defineConfig } from 'vitest/config';

// Unit, model and webview tests. End-to-end tests in real VS Code run separately (`npm run test:e2e`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    // Two test files run at once on CI's two cores: one llama.cpp thread each (its threads spin-wait).
    env: { MOE_LENS_THREADS: '1' },
  },
});
