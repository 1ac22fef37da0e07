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
);
