import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelRegistryError } from './errors.js';

export type ModelKind = 'vision' | 'sae';

export interface ModelFileRecord {
  /** Absolute path. */
  readonly path: string;
  readonly size: number;
  /** null when not computed (never for downloads and imports; possible for hand-edited entries). */
  readonly sha256: string | null;
}

export type ModelSource =
  | { readonly type: 'hub'; readonly endpoint: string; readonly repo: string; readonly revision: string; readonly commit: string | null; readonly files: readonly string[] }
  | { readonly type: 'import'; readonly path: string; readonly copied: boolean }
  | { readonly type: 'builtin' };

/** What inspect found, kept so that a list needs no file access. */
export type ModelDetails =
  | { readonly kind: 'vision'; readonly architecture: string; readonly width: number; readonly layers: number; readonly tokens: number; readonly projectionDim: number | null; readonly dtype: string }
  | { readonly kind: 'sae'; readonly format: string; readonly architecture: string; readonly dIn: number; readonly nFeatures: number; readonly k: number | null };

export interface ModelEntry {
  readonly name: string;
  readonly kind: ModelKind;
  /** What `encode --model` / `--sae` take: the model folder, the .pt file or the SAELens folder. */
  readonly path: string;
  readonly files: readonly ModelFileRecord[];
  /** Bytes, all files. */
  readonly size: number;
  /** The weights file's sha256 (for an SAE .pt: the file's). */
  readonly sha256: string | null;
  readonly source: ModelSource;
  /** The files are ours (downloaded or copied): `remove` deletes them. Imported by reference: false. */
  readonly managed: boolean;
  /** SAEs: the residual-stream layer they read. */
  readonly layer: number | null;
  /** SAEs: the vision model they belong to, when known. */
  readonly baseModel: string | null;
  readonly details: ModelDetails | null;
  /** A demonstration model (random weights, meaningless features). */
  readonly demo: boolean;
  /** Shipped with the app (the demo); not in the registry file, cannot be removed. */
  readonly builtIn: boolean;
  /** Libraries (SQLite files) that were indexed with this model. */
  readonly usedBy: readonly string[];
  readonly addedAt: string;
}

interface RegistryFile {
  version: 1;
  models: ModelEntry[];
  /** usedBy of built-in models, which have no entry in `models`. */
  builtInUsers: Record<string, string[]>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name)) {
    throw new ModelRegistryError(`"${name}" is not a valid model name (letters, digits, ".", "_", "-"; at most 100 characters)`);
  }
  return name;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The installed models of one models folder: `<dir>/registry.json`. Every change is a
 * read-modify-write under a lock file and lands with an atomic rename, so a crash never leaves a
 * half-written registry and two processes (the app and the CLI) do not lose each other's changes.
 */
export class ModelRegistry {
  readonly file: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'registry.json');
  }

  async read(): Promise<RegistryFile> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, models: [], builtInUsers: {} };
      throw new ModelRegistryError(`${this.file}: cannot read the model registry (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    let json: Partial<RegistryFile>;
    try {
      json = JSON.parse(text) as Partial<RegistryFile>;
    } catch (err) {
      throw new ModelRegistryError(`${this.file}: the model registry is not valid JSON (${(err as Error).message}); move it aside to start a new one`);
    }
    if (json.version !== 1 || !Array.isArray(json.models)) {
      throw new ModelRegistryError(`${this.file}: not a model registry of this version (version ${JSON.stringify(json.version)})`);
    }
    return { version: 1, models: json.models, builtInUsers: json.builtInUsers ?? {} };
  }

  async list(): Promise<ModelEntry[]> {
    return (await this.read()).models;
  }

  async get(name: string): Promise<ModelEntry | undefined> {
    return (await this.list()).find((m) => m.name === name);
  }

  /** Runs `fn` on the current contents under the lock and writes the result atomically. */
  async update<T>(fn: (reg: RegistryFile) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await fs.mkdir(this.dir, { recursive: true });
      const release = await this.lock();
      try {
        const reg = await this.read();
        const out = await fn(reg);
        await this.write(reg);
        return out;
      } finally {
        await release();
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  async put(entry: ModelEntry): Promise<void> {
    await this.update((reg) => {
      const i = reg.models.findIndex((m) => m.name === entry.name);
      if (i >= 0) reg.models[i] = entry;
      else reg.models.push(entry);
      reg.models.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  async delete(name: string): Promise<boolean> {
    return this.update((reg) => {
      const before = reg.models.length;
      reg.models = reg.models.filter((m) => m.name !== name);
      return reg.models.length !== before;
    });
  }

  /** Records that a library uses a model (idempotent). `builtIn` names live outside `models`. */
  async addUser(name: string, library: string, builtIn = false): Promise<void> {
    await this.update((reg) => {
      if (builtIn) {
        const users = new Set(reg.builtInUsers[name] ?? []);
        users.add(library);
        reg.builtInUsers[name] = [...users].sort();
        return;
      }
      const i = reg.models.findIndex((m) => m.name === name);
      if (i < 0) throw new ModelRegistryError(`no model named "${name}" in ${this.file}`);
      const m = reg.models[i]!;
      if (!m.usedBy.includes(library)) reg.models[i] = { ...m, usedBy: [...m.usedBy, library].sort() };
    });
  }

  async removeUser(name: string, library: string, builtIn = false): Promise<void> {
    await this.update((reg) => {
      if (builtIn) {
        const users = (reg.builtInUsers[name] ?? []).filter((u) => u !== library);
        if (users.length) reg.builtInUsers[name] = users;
        else delete reg.builtInUsers[name];
        return;
      }
      const i = reg.models.findIndex((m) => m.name === name);
      if (i < 0) return;
      const m = reg.models[i]!;
      reg.models[i] = { ...m, usedBy: m.usedBy.filter((u) => u !== library) };
    });
  }

  private async write(reg: RegistryFile): Promise<void> {
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(reg, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /** An exclusive lock file; one left by a crashed process is taken over after `staleMs`. */
  private async lock(staleMs = 30_000, waitMs = 15_000): Promise<() => Promise<void>> {
    const lockFile = `${this.file}.lock`;
    const start = Date.now();
    for (;;) {
      try {
        const fh = await fs.open(lockFile, 'wx');
        await fh.writeFile(String(process.pid));
        await fh.close();
        return () => fs.rm(lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const st = await fs.stat(lockFile).catch(() => null);
        if (st && Date.now() - st.mtimeMs > staleMs) {
          await fs.rm(lockFile, { force: true });
          continue;
        }
        if (Date.now() - start > waitMs) {
          throw new ModelRegistryError(`${this.file} is locked by another process (${lockFile}); try again, or delete the lock file if no clipscope is running`);
        }
        await sleep(25 + Math.random() * 50);
      }
    }
  }
}
