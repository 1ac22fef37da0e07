// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Node's built-ins, with and without `node:` (`fs` is as much Node as `node:fs`).
const NODE_BUILTINS = ['node:*', ...builtinModules, ...builtinModules.map((m) => `${m}/*`)];

// IPC objects belong to the two IPC adapters only (see the last block).
const IPC_SYNTAX = {
  selector: 'MemberExpression[property.name=/^ipc(Main|Renderer)$/]',
  message: 'IPC goes through main/transports/ipc.ts (registerIpcHandlers) and preload/ only.',
};

// SQL belongs to main/engine/store: the ReadonlyLibrary / WritableLibrary methods and the store's
// *-rows.ts modules return typed rows, so nothing above the store prepares a statement, writes SQL
// text, opens SQLite itself or reaches a handle's connection (store/connection.ts).
const SQL_MESSAGE = 'SQL stays in main/engine/store: add a typed function there (e.g. a *-rows.ts module) and call it.';
const SQL_TEXT = '/\\b(SELECT\\s[^]*\\sFROM|INSERT\\s+(OR\\s+\\w+\\s+)?INTO|UPDATE\\s+\\w+\\s+SET|DELETE\\s+FROM|PRAGMA)\\b/';
const SQL_SYNTAX = [
  { selector: 'CallExpression[callee.property.name=/^(statement|pragma)$/]', message: SQL_MESSAGE },
  // A better-sqlite3 handle reached directly (`lib.db.prepare(...)`, `db.exec(...)`).
  { selector: 'CallExpression[callee.property.name=/^(prepare|exec|transaction)$/][callee.object.property.name="db"]', message: SQL_MESSAGE },
  { selector: 'CallExpression[callee.property.name=/^(prepare|exec|transaction)$/][callee.object.name="db"]', message: SQL_MESSAGE },
  { selector: `Literal[value=${SQL_TEXT}]`, message: SQL_MESSAGE },
  { selector: `TemplateElement[value.raw=${SQL_TEXT}]`, message: SQL_MESSAGE },
  { selector: "ImportDeclaration[source.value='better-sqlite3']", message: SQL_MESSAGE },
  { selector: 'ImportDeclaration[source.value=/(^|\\/)store\\/connection(\\.js)?$/]', message: SQL_MESSAGE },
  { selector: 'ImportExpression[source.value=/(^|\\/)store\\/connection(\\.js)?$/]', message: SQL_MESSAGE },
];

// The CLI is a formatter over main/app, the same in-process API the transports use: of the engine
// it imports only its errors and version, and types (erased at build time, so they load nothing).
const CLI_ENGINE_MESSAGE = 'The CLI reaches the engine through main/app (add or use a main/app module); only engine/errors, engine/version and `import type` are allowed.';
const CLI_ENGINE_PATTERN = { group: ['**/engine/**', '!**/engine/errors.js', '!**/engine/version.js'], allowTypeImports: true, message: CLI_ENGINE_MESSAGE };
// `await import('../engine/...')` escapes the import rules: the same boundary for dynamic imports.
const CLI_ENGINE_DYNAMIC = { selector: 'ImportExpression[source.value=/(^|\\/)engine\\/(?!(errors|version)\\.js$)/]', message: CLI_ENGINE_MESSAGE };

// The import rules encode the architecture:
//   common/contract  <-  main/engine  <-  main/app (the API's implementation)  <-  main/host
//   (the engine host process)  <-  main/transports (IPC, HTTP)  <-  main/electron, main/cli;
// the renderer and the preload see only the contract.
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
        { group: [...NODE_BUILTINS, 'electron', '**/main/**', '**/renderer/**', '**/preload/**'], message: 'common/ is shared by every runtime: keep it free of runtime imports.' },
      ] }],
    },
  },
  {
    files: ['main/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', '@electron-toolkit/*'], message: 'The engine runs without Electron.' },
        { group: ['**/app/**', '**/host/**', '**/transports/**', '**/cli/**', '**/electron/**', '**/renderer/**', '**/preload/**'], message: 'The engine must not depend on what is built on it.' },
      ] }],
    },
  },
  {
    files: ['main/app/**/*.ts', 'main/host/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', '@electron-toolkit/*'], message: 'The engine host runs without Electron (a worker thread or a utility process).' },
        { group: ['**/transports/**', '**/cli/**', '**/electron/**', '**/renderer/**', '**/preload/**'], message: 'The API implementation must not depend on its transports or front ends.' },
      ] }],
    },
  },
  {
    files: ['main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', '@electron-toolkit/*'], message: 'The CLI runs without Electron.' },
        { group: ['**/electron/**', '**/renderer/**', '**/preload/**'], message: 'The CLI uses the engine, its API and the HTTP transport only.' },
      ] }],
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [CLI_ENGINE_PATTERN] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: [...NODE_BUILTINS, 'electron', '**/main/**', '**/preload/**'], message: 'The renderer talks to the engine only through common/contract.' },
      ] }],
    },
  },
  {
    files: ['preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/main/**', '**/renderer/**', 'zod'], message: 'The sandboxed preload is one small file: the contract\'s zod-free modules only.' },
      ] }],
    },
  },
  // ipcMain / ipcRenderer belong to the two IPC adapters only: main/transports/ipc.ts and
  // preload/. common/, the engine, the CLI and the renderer are left out here because their own
  // blocks above already forbid `electron` outright (a later no-restricted-imports would replace
  // those rules, not add to them).
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    ignores: ['main/transports/ipc.ts', 'preload/**', 'common/**', 'main/engine/**', 'main/app/**', 'main/host/**', 'main/cli/**', 'renderer/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['electron', 'electron/main', 'electron/renderer'].map((name) => ({
          name,
          importNames: ['ipcMain', 'ipcRenderer'],
          message: 'IPC goes through main/transports/ipc.ts (registerIpcHandlers) and preload/ only.',
        })),
      }],
      'no-restricted-syntax': ['error', IPC_SYNTAX],
    },
  },
  // After the IPC block: for main/ files this rule replaces that one, so it repeats its selector.
  {
    files: ['main/**/*.ts'],
    ignores: ['main/engine/store/**', 'main/transports/ipc.ts'],
    rules: { 'no-restricted-syntax': ['error', IPC_SYNTAX, ...SQL_SYNTAX] },
  },
  {
    files: ['main/transports/ipc.ts'],
    rules: { 'no-restricted-syntax': ['error', ...SQL_SYNTAX] },
  },
  // After the main/ block, which it replaces for the CLI: so it repeats that block's selectors.
  {
    files: ['main/cli/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', IPC_SYNTAX, ...SQL_SYNTAX, CLI_ENGINE_DYNAMIC] },
  },
);
