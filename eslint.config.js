// ESLint: type-checked TypeScript rules, import cycles, and the boundaries between the parts of src/.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ROOT = import.meta.dirname;

/**
 * The parts of src/ and what each may import besides itself (a type-only import counts too).
 * Cores import only cores; a feature imports no other feature. Whatever sits in src/ that no part
 * claims (a folder being moved, a new one) may be imported by the composition root only.
 */
const PARTS = {
  core: { dirs: ['definitions', 'providers', 'engine'], mayImport: [], siblings: true },
  runtime: { dirs: ['runtime'], mayImport: ['core', 'common', 'config', 'auth', 'metrics', 'governance'] },
  feature: {
    dirs: ['agents', 'sessions', 'pipelines', 'health', 'keys'],
    mayImport: ['core', 'runtime', 'governance', 'common', 'infra'],
    siblings: false,
  },
  governance: { dirs: ['governance'], mayImport: ['core', 'common', 'config', 'database', 'metrics'] },
  // Running agents without the server (`npm run definitions -- eval`): no database, no HTTP.
  evaluation: { dirs: ['evaluation'], mayImport: ['core', 'runtime', 'governance', 'config'] },
  common: { dirs: ['common'], mayImport: ['core', 'config'] },
  config: { dirs: ['config'], mayImport: [] },
  database: { dirs: ['database'], mayImport: ['common', 'config'] },
  auth: { dirs: ['auth'], mayImport: ['common', 'config', 'database'] },
  metrics: { dirs: ['metrics'], mayImport: ['common', 'config', 'auth'] },
  // Serves the built web console (console/, docs/console.md); the console itself only calls the API.
  console: { dirs: ['console'], mayImport: ['common', 'config', 'auth'] },
};
const GROUPS = { infra: ['config', 'database', 'auth', 'metrics'] };
const COMPOSITION_ROOT = ['main.ts', 'app.module.ts', 'app.setup.ts', 'app.factory.ts'];
/** Framework-free helpers in src/ that any part's tests may import, by the folder that holds them. */
const TEST_HELPERS = { common: ['./process-alive.ts'] };

const partOf = (dir) => Object.keys(PARTS).find((part) => PARTS[part].dirs.includes(dir));
const srcEntries = [
  ...new Set([
    ...readdirSync(`${ROOT}/src`).filter((entry) => !entry.endsWith('.spec.ts')),
    ...Object.values(PARTS).flatMap((part) => part.dirs),
    ...COMPOSITION_ROOT,
  ]),
].sort();

function label(entry) {
  const part = partOf(entry);
  if (part) return `${part} (src/${entry})`;
  return COMPOSITION_ROOT.includes(entry) ? `the composition root (src/${entry})` : `src/${entry}, which belongs to no part`;
}

function zonesFor(dir) {
  const name = partOf(dir);
  const part = PARTS[name];
  const allowedParts = part.mayImport.flatMap((other) => GROUPS[other] ?? [other]);
  const allowed = new Set([dir, ...allowedParts.flatMap((other) => PARTS[other].dirs), ...(part.siblings ? part.dirs : [])]);
  const may = [
    ...(part.siblings || part.dirs.length === 1 ? [name] : ['its own folder']),
    ...part.mayImport.map((other) => (GROUPS[other] ? `${other} (${GROUPS[other].join(', ')})` : other)),
  ].join(', ');
  return srcEntries
    .filter((entry) => !allowed.has(entry))
    .flatMap((entry) => {
      const why = partOf(entry) === name ? `${name}s do not import each other` : `${name} code imports only ${may}`;
      const zone = { target: `src/${dir}`, from: `src/${entry}`, message: `src/${dir}: ${why}; not ${label(entry)}.` };
      const testHelpers = TEST_HELPERS[entry];
      if (!testHelpers) return [zone];
      return [
        { ...zone, target: `src/${dir}/**/!(*.spec).ts` },
        {
          ...zone,
          target: `src/${dir}/**/*.spec.ts`,
          except: testHelpers,
          message: `${zone.message} Its tests may use ${testHelpers.join(', ')}.`,
        },
      ];
    });
}

const boundaryZones = [
  ...Object.values(PARTS).flatMap((part) => part.dirs.flatMap(zonesFor)),
  ...['test', 'bench', 'scripts'].map((dir) => ({
    target: 'src/**/!(*.spec).ts',
    from: dir,
    message: `production code does not import ${dir}/.`,
  })),
];

// Pure cores stay free of the web and persistence frameworks.
const FRAMEWORK_PACKAGES = [
  '@nestjs/*',
  'typeorm',
  'typeorm/*',
  'express',
  'express/*',
  'class-validator',
  'class-transformer',
  'passport',
  'passport-*',
  'pg',
];

export default defineConfig(
  { ignores: ['dist/', 'coverage/', '.data/', 'node_modules/', 'test-results/'] },
  {
    files: ['**/*.{ts,js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.test.json covers src, test, scripts, bench and migrations in one program.
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: ROOT },
    },
    rules: {
      // tsc reports unused locals and parameters (noUnusedLocals/noUnusedParameters).
      '@typescript-eslint/no-unused-vars': 'off',
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Numeric enums here name char codes and JSON-RPC error codes, compared with plain numbers on purpose.
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      // Rejecting with an AbortSignal's reason (typed any) is the platform's convention; only-throw-error allows the same.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    // Tests read untyped bodies (supertest, JSON), stub async interfaces without awaiting,
    // and hand mocked methods to expect().
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.{ts,js,mjs}'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': importX.flatConfigs.typescript.settings['import-x/extensions'],
      'import-x/external-module-folders': importX.flatConfigs.typescript.settings['import-x/external-module-folders'],
      'import-x/parsers': importX.flatConfigs.typescript.settings['import-x/parsers'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${ROOT}/tsconfig.test.json` })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: ROOT, zones: boundaryZones }],
    },
  },
  {
    files: PARTS.core.dirs.map((dir) => `src/${dir}/**/*.ts`),
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: FRAMEWORK_PACKAGES, message: 'Pure cores (definitions, providers, engine) import no framework.' }] },
      ],
    },
  },
  {
    files: ['**/*.{js,mjs}', 'vitest.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    // The web console (console/): browser code, its own tsconfig (DOM, JSX, bundler resolution).
    files: ['console/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { project: ['./console/tsconfig.json'], tsconfigRootDir: ROOT },
    },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${ROOT}/console/tsconfig.json` })] },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
);
