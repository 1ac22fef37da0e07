// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The import rules encode the architecture: contract <- engine <- transports / cli / electron,
// and the renderer sees only the contract.
export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'out/', 'bench/.work/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['common/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'electron', '**/main/**', '**/renderer/**', '**/preload/**'], message: 'common/ is shared by every runtime: keep it free of runtime imports.' },
      ] }],
    },
  },
  {
    files: ['main/engine/**/*.ts', 'main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', '@electron-toolkit/*'], message: 'The engine and CLI run without Electron.' },
        { group: ['**/transports/**', '**/electron/**', '**/renderer/**'], message: 'The engine must not depend on its transports.' },
      ] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'electron', '**/main/**', '**/preload/**'], message: 'The renderer talks to the engine only through common/contract.' },
      ] }],
    },
  },
  // ipcMain / ipcRenderer belong to the two IPC adapters only: main/transports/ipc.ts and
  // preload/. common/, the engine, the CLI and the renderer are left out here because their own
  // blocks above already forbid `electron` outright (a later no-restricted-imports would replace
  // those rules, not add to them).
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    ignores: ['main/transports/ipc.ts', 'preload/**', 'common/**', 'main/engine/**', 'main/cli/**', 'renderer/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['electron', 'electron/main', 'electron/renderer'].map((name) => ({
          name,
          importNames: ['ipcMain', 'ipcRenderer'],
          message: 'IPC goes through main/transports/ipc.ts (registerIpcHandlers) and preload/ only.',
        })),
      }],
      'no-restricted-syntax': ['error', {
        selector: 'MemberExpression[property.name=/^ipc(Main|Renderer)$/]',
        message: 'IPC goes through main/transports/ipc.ts (registerIpcHandlers) and preload/ only.',
      }],
    },
  },
);
