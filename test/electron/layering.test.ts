import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: fileURLToPath(new URL('../..', import.meta.url)) });

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => m.message);
}

const usesIpcMain = "import { ipcMain } from 'electron';\nexport const ipc = ipcMain;\n";
const usesIpcRenderer = "import { ipcRenderer } from 'electron/renderer';\nexport const ipc = ipcRenderer;\n";

describe('IPC layering lint', () => {
  it('allows ipcMain in main/transports/ipc.ts and ipcRenderer in preload/', async () => {
    expect(await restrictedImportErrors('main/transports/ipc.ts', usesIpcMain)).toEqual([]);
    expect(await restrictedImportErrors('preload/index.ts', usesIpcRenderer)).toEqual([]);
  });

  it('forbids them anywhere else, however they are reached', async () => {
    for (const file of ['main/electron/index.ts', 'main/transports/http.ts', 'test/electron/x.test.ts', 'scripts/x.ts']) {
      expect(await restrictedImportErrors(file, usesIpcMain), file).toHaveLength(1);
      expect(await restrictedImportErrors(file, usesIpcRenderer), file).toHaveLength(1);
    }
    const viaDefault = "import electron from 'electron';\nexport const ipc = electron.ipcMain;\n";
    expect(await restrictedImportErrors('main/electron/index.ts', viaDefault)).toHaveLength(1);
  });

  it('still allows the rest of electron in main/electron', async () => {
    const code = "import { app, BrowserWindow } from 'electron';\nexport const x = [app, BrowserWindow];\n";
    expect(await restrictedImportErrors('main/electron/index.ts', code)).toEqual([]);
  });

  it('keeps the stricter rules of the renderer, common and the engine', async () => {
    expect(await restrictedImportErrors('renderer/src/x.ts', usesIpcRenderer)).toHaveLength(1);
    expect(await restrictedImportErrors('common/contract/x.ts', "import { app } from 'electron';\nexport const x = app;\n")).toHaveLength(1);
    expect(await restrictedImportErrors('main/engine/x.ts', "import { app } from 'electron';\nexport const x = app;\n")).toHaveLength(1);
  });
});

describe('architecture zones', () => {
  const imports = (spec: string) => `import { x } from '${spec}';\nexport const y = x;\n`;

  it('keeps the engine free of what is built on it', async () => {
    for (const spec of ['../app/app-service.js', '../host/engine-client.js', '../transports/http.js', '../cli/exit.js']) {
      expect(await restrictedImportErrors('main/engine/queries/x.ts', imports(spec)), spec).toHaveLength(1);
    }
  });

  it('keeps the API implementation and the engine host free of transports and Electron', async () => {
    expect(await restrictedImportErrors('main/app/x.ts', imports('../transports/http.js'))).toHaveLength(1);
    expect(await restrictedImportErrors('main/host/x.ts', imports('electron'))).toHaveLength(1);
    expect(await restrictedImportErrors('main/app/x.ts', imports('../engine/errors.js'))).toEqual([]);
  });

  it("lets the CLI serve over HTTP but not reach Electron's side", async () => {
    expect(await restrictedImportErrors('main/cli/commands/x.ts', imports('../../transports/serve.js'))).toEqual([]);
    expect(await restrictedImportErrors('main/cli/commands/x.ts', imports('../../electron/window.js'))).not.toEqual([]);
  });

  it('keeps Node out of the renderer and common/, however it is spelled', async () => {
    for (const spec of ['fs', 'node:fs', 'path', 'fs/promises']) {
      expect(await restrictedImportErrors('renderer/src/x.ts', imports(spec)), spec).toHaveLength(1);
      expect(await restrictedImportErrors('common/contract/x.ts', imports(spec)), spec).toHaveLength(1);
    }
  });

  it('keeps zod and the main process out of the preload', async () => {
    expect(await restrictedImportErrors('preload/x.ts', imports('zod'))).toHaveLength(1);
    expect(await restrictedImportErrors('preload/x.ts', imports('../main/host/engine-client.js'))).toHaveLength(1);
    expect(await restrictedImportErrors('preload/x.ts', imports('../common/contract/methods.js'))).toEqual([]);
  });
});

describe('SQL stays in main/engine/store', () => {
  const sqlErrors = async (file: string, code: string) => (await restrictedImportErrors(file, code)).filter((m) => m.startsWith('SQL stays'));
  const viaStatement = "export const n = (lib: { statement(s: string): { get(): unknown } }) => lib.statement('SELECT count(*) FROM images').get();\n";
  const viaDb = "export const n = (lib: { db: { prepare(s: string): { get(): unknown } } }) => lib.db.prepare('SELECT 1').get();\n";
  const sqlTemplate = 'export const sql = (w: string) => `SELECT id FROM images WHERE ${w}`;\n';
  const sqlite = "import Database from 'better-sqlite3';\nexport const open = (f: string) => new Database(f);\n";

  it('refuses statements, handles, SQL text and SQLite itself outside the store', async () => {
    for (const file of ['main/engine/queries/x.ts', 'main/engine/library/x.ts', 'main/app/x.ts', 'main/cli/commands/x.ts', 'main/transports/ipc.ts']) {
      expect(await sqlErrors(file, viaStatement), file).not.toEqual([]);
      expect(await sqlErrors(file, viaDb), file).not.toEqual([]);
      expect(await sqlErrors(file, sqlTemplate), file).toHaveLength(1);
      expect(await sqlErrors(file, sqlite), file).toHaveLength(1);
    }
    expect(await sqlErrors('main/app/x.ts', "export const q = 'INSERT OR REPLACE INTO failures (path) VALUES (?)';\n")).toHaveLength(1);
  });

  it('allows them in main/engine/store, and words that are not SQL elsewhere', async () => {
    for (const code of [viaStatement, viaDb, sqlTemplate, sqlite]) expect(await sqlErrors('main/engine/store/x.ts', code)).toEqual([]);
    const prose = "export const t = 'Select a folder from the list, then update the settings';\nexport const p = (w: { prepare(x: number): number }) => w.prepare(1);\n";
    expect(await sqlErrors('main/app/x.ts', prose)).toEqual([]);
  });

  it('has no exceptions among the query modules: their real code passes, one statement added fails', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    for (const name of ['gallery.ts', 'feature-query.ts', 'similar.ts', 'runs.ts']) {
      const file = `main/engine/queries/${name}`;
      const code = await readFile(`${root}/${file}`, 'utf8');
      expect(await sqlErrors(file, code), file).toEqual([]);
      expect(await sqlErrors(file, code + viaStatement), file).not.toEqual([]);
      expect(await sqlErrors(file, code + viaDb), file).not.toEqual([]);
      expect(await sqlErrors(file, code + sqlTemplate), file).toHaveLength(1);
    }
  });

  it("keeps a handle's connection (store/connection.ts) inside the store", async () => {
    const viaConnection = "import { statement } from '../store/connection.js';\nexport const s = statement;\n";
    const dynamic = "export const c = () => import('../../engine/store/connection.js');\n";
    expect(await sqlErrors('main/engine/queries/x.ts', viaConnection)).toHaveLength(1);
    expect(await sqlErrors('main/app/x.ts', dynamic)).toHaveLength(1);
    expect(await sqlErrors('main/engine/store/x.ts', "import { statement } from './connection.js';\nexport const s = statement;\n")).toEqual([]);
    expect(await sqlErrors('main/engine/queries/x.ts', "import { gallery } from './gallery.js';\nexport const g = gallery;\n")).toEqual([]);
  });

  it('keeps the IPC rule where both apply', async () => {
    expect(await restrictedImportErrors('main/electron/index.ts', usesIpcMain)).toHaveLength(1);
    expect(await restrictedImportErrors('main/transports/ipc.ts', usesIpcMain)).toEqual([]);
  });
});

describe('the CLI reaches the engine through main/app', () => {
  const cliEngineErrors = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? []).filter((m) => m.message.includes('The CLI reaches the engine')).map((m) => m.ruleId);
  };
  const valueImport = (spec: string) => `import { x } from '${spec}';\nexport const y = x;\n`;

  it('refuses a value import, a re-export or a dynamic import of an engine module', async () => {
    expect(await cliEngineErrors('main/cli/commands/x.ts', valueImport('../../engine/queries/gallery.js'))).toEqual(['@typescript-eslint/no-restricted-imports']);
    expect(await cliEngineErrors('main/cli/library.ts', valueImport('../engine/store/library.js'))).toHaveLength(1);
    expect(await cliEngineErrors('main/cli/commands/x.ts', "export { x } from '../../engine/library/indexer.js';\n")).toHaveLength(1);
    expect(await cliEngineErrors('main/cli/commands/x.ts', "export const m = await import('../../engine/steering/steering.js');\n")).toEqual(['no-restricted-syntax']);
  });

  it('allows engine errors, the version, types, and main/app', async () => {
    expect(await cliEngineErrors('main/cli/commands/x.ts', valueImport('../../engine/errors.js'))).toEqual([]);
    expect(await cliEngineErrors('main/cli/index.ts', valueImport('../engine/version.js'))).toEqual([]);
    expect(await cliEngineErrors('main/cli/commands/x.ts', "import type { X } from '../../engine/library/indexer.js';\nexport type Y = X;\n")).toEqual([]);
    expect(await cliEngineErrors('main/cli/commands/x.ts', "import { type X } from '../../engine/library/indexer.js';\nexport type Y = X;\n")).toEqual([]);
    expect(await cliEngineErrors('main/cli/commands/x.ts', valueImport('../../app/cli-indexing.js'))).toEqual([]);
    // The rule is the CLI's: main/app itself is where the engine is called.
    expect(await cliEngineErrors('main/app/x.ts', valueImport('../engine/queries/gallery.js'))).toEqual([]);
  });

  it('keeps the CLI\'s other rules (Electron, SQL) alongside', async () => {
    expect(await restrictedImportErrors('main/cli/commands/x.ts', valueImport('../../electron/window.js'))).not.toEqual([]);
    expect(await restrictedImportErrors('main/cli/commands/x.ts', "export const sql = (w: string) => `SELECT id FROM images WHERE ${w}`;\n")).toHaveLength(1);
  });

  it('holds for the CLI as it is', async () => {
    const results = await eslint.lintFiles(['main/cli/**/*.ts']);
    const found = results.flatMap((r) => r.messages.filter((m) => m.message.includes('The CLI reaches the engine')).map((m) => `${r.filePath}:${m.line}`));
    expect(found).toEqual([]);
  });
});
