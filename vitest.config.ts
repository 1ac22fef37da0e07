import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // onnxruntime and sharp are native addons; separate processes keep their thread pools apart.
    pool: 'forks',
    testTimeout: 120_000,
    // Browser tests poll the page for what the engine computes; on a loaded 2-core machine that
    // can take seconds (the 1 s default then fails tests that are right).
    expect: { poll: { timeout: 30_000, interval: 100 } },
    hookTimeout: 120_000,
  },
});
