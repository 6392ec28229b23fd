import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the tests so that decorator metadata (Nest DI, class-validator) is emitted,
// which esbuild/oxc would drop.
const swcPlugin = () =>
  swc.vite({
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'es6' },
  });

export default defineConfig({
  plugins: [swcPlugin()],
  test: {
    globals: false,
    pool: 'forks',
    projects: [
      {
        plugins: [swcPlugin()],
        // console/src: the web console's pure parts (stream parsing, graph layout).
        test: { name: 'unit', include: ['src/**/*.spec.ts', 'test/unit/**/*.spec.ts', 'console/src/**/*.spec.ts'], testTimeout: 20_000 },
      },
      {
        // One controller behind the app's real HTTP setup (pipe, filter, guard), services faked.
        plugins: [swcPlugin()],
        test: { name: 'controller', include: ['test/controller/**/*.spec.ts'], testTimeout: 20_000 },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'integration',
          include: ['test/integration/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [swcPlugin()],
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          // Every answer the suite receives is checked against openapi.json (issue 14).
          setupFiles: ['test/support/contract-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Faults under load on two server processes (issue 14): needs the build (npm test builds first); about 40 s.
        plugins: [swcPlugin()],
        test: {
          name: 'faults',
          include: ['test/faults/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Requests generated from openapi.json, seeded (FUZZ_SEED, FUZZ_RUNS; issue 14): about 30 s.
        plugins: [swcPlugin()],
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.spec.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
