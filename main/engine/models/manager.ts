import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ModelInspection } from '../../../common/contract/index.js';
import { inspectModel } from '../inspect.js';
import { dataDir } from '../runtime/paths.js';
import { errorMessage, ModelFileError, UserFacingError } from '../errors.js';
import { formatBytes } from '../formats/format-size.js';
import { DownloadError, ModelRegistryError } from './errors.js';
import { HubClient, resolveEndpoint, tokenFromEnv } from './hub.js';
import {
  DEFAULT_LAYERS, DEFAULT_REVISION, destOf, modelPathOf, planBundle, type PlannedFile, type PlannedModel,
} from './bundle.js';
import { DEFAULT_RETRY, discardPartial, downloadFile, partialPath, type FileProgress, type RetryPolicy } from './download.js';
import { sha256File } from './checksum.js';
import { ensureFreeSpace, statfsFreeSpace, type FreeSpaceFn } from './space.js';
import { checkModelName, ModelRegistry, type ModelDetails, type ModelEntry, type ModelFileRecord } from './registry.js';
import { demoEntries, isDemoPath } from './demo.js';

export interface ModelManagerOptions {
  /** The models folder (downloads, copies, registry.json). Default: `<dataDir()>/models`. */
  readonly dir?: string;
  /** Hub endpoint; default `HF_ENDPOINT`, else https://huggingface.co. */
  readonly endpoint?: string | null;
  /** Access token; default `HF_TOKEN`. */
  readonly token?: string | null;
  /** No response or no bytes for this long = a timeout (default 30 s). */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Free-space probe (default fs.statfs); tests inject a small one. */
  readonly freeSpace?: FreeSpaceFn;
  /** Kept free beyond the download itself (default 100 MB). */
  readonly spaceMarginBytes?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/** An installed model as listed: its registry entry plus whether its files are all there. */
export interface InstalledModel extends ModelEntry {
  readonly present: boolean;
}

export type DownloadEvent =
  | { readonly type: 'plan'; readonly endpoint: string; readonly models: readonly { readonly name: string; readonly kind: 'vision' | 'sae'; readonly layer: number | null; readonly files: readonly { readonly file: string; readonly size: number | null; readonly present: boolean }[] }[]; readonly totalBytes: number | null; readonly notes: readonly string[] }
  | { readonly type: 'file-start'; readonly model: string; readonly file: string; readonly size: number | null; readonly resumeFrom: number }
  | { readonly type: 'progress'; readonly model: string; readonly progress: FileProgress; readonly overall: { readonly bytes: number; readonly total: number | null } }
  | { readonly type: 'retry'; readonly model: string; readonly file: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'file-done'; readonly model: string; readonly file: string; readonly size: number; readonly sha256: string; readonly verified: boolean; readonly skipped: boolean; readonly resumedFrom: number }
  | { readonly type: 'model-done'; readonly entry: ModelEntry }
  | { readonly type: 'model-failed'; readonly model: string; readonly error: string; readonly kind: string };

export interface DownloadOptions {
  /** SAE layers (default [22]); [] for none. */
  readonly layers?: readonly number[];
  /** Download the CLIP model too (default true). */
  readonly vision?: boolean;
  readonly revision?: string;
  readonly endpoint?: string | null;
  readonly signal?: AbortSignal;
  readonly onEvent?: (e: DownloadEvent) => void;
}

export interface DownloadOutcome {
  readonly installed: readonly ModelEntry[];
  readonly failed: readonly { readonly name: string; readonly error: Error }[];
}

export interface ImportOptions {
  /** Registry name (one model only); default from the path. */
  readonly name?: string;
  /** Copy the files into the models folder (default: register them where they are, untouched). */
  readonly copy?: boolean;
  /** The layer of an SAE whose file does not record it. */
  readonly layer?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { readonly file: string; readonly bytes: number; readonly total: number; readonly phase: 'hash' | 'copy' }) => void;
}

export interface ImportOutcome {
  readonly imported: readonly ModelEntry[];
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

export interface VerifyReport {
  readonly name: string;
  readonly kind: 'vision' | 'sae';
  readonly builtIn: boolean;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly hashed: number;
}

export interface VerifyOutcome {
  readonly models: readonly VerifyReport[];
  /** Interrupted downloads in the models folder (resumed by the next download). */
  readonly partials: readonly { readonly path: string; readonly size: number }[];
}

export interface RemoveOutcome {
  readonly entry: ModelEntry;
  /** Files deleted (downloaded or copied by us). */
  readonly deleted: readonly string[];
  /** Files left in place (imported by reference: the user's). */
  readonly kept: readonly string[];
}

export function defaultModelsDir(): string {
  return path.join(dataDir(), 'models');
}

function detailsOf(i: ModelInspection): ModelDetails {
  return i.kind === 'vision'
    ? { kind: 'vision', architecture: i.architecture, width: i.width, layers: i.layers, tokens: i.tokens, projectionDim: i.projectionDim, dtype: i.dtype }
    : { kind: 'sae', format: i.format, architecture: i.architecture, dIn: i.dIn, nFeatures: i.nFeatures, k: i.k };
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Removes the folders a deleted file leaves empty, up to (not including) the models folder. */
async function pruneEmptyDirs(file: string, root: string): Promise<void> {
  let d = path.dirname(file);
  while (isInside(d, root)) {
    if ((await fs.readdir(d).catch(() => ['?'])).length > 0) break;
    await fs.rmdir(d).catch(() => undefined);
    d = path.dirname(d);
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function realpathOr(p: string): Promise<string> {
  return fs.realpath(p).catch(() => path.resolve(p));
}

/** The files a model is made of, from what inspect read. */
async function filesOfModel(p: string, ins: ModelInspection): Promise<string[]> {
  if (ins.kind === 'vision') {
    const out = [path.join(p, 'config.json'), path.join(p, 'preprocessor_config.json'), ins.weightsFile];
    if (ins.weightsFile.endsWith('.index.json')) {
      const index = JSON.parse(await fs.readFile(ins.weightsFile, 'utf8')) as { weight_map?: Record<string, string> };
      for (const shard of new Set(Object.values(index.weight_map ?? {}))) out.push(path.join(p, path.basename(shard)));
    }
    return out.map((f) => path.resolve(f));
  }
  if (ins.format === 'saelens') return [path.join(p, 'cfg.json'), path.join(p, 'sae_weights.safetensors')].map((f) => path.resolve(f));
  return [path.resolve(p)];
}

const sanitizeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 90) || 'model';

function defaultImportName(p: string, ins: ModelInspection, layer: number | null): string {
  if (ins.kind === 'sae' && ins.format === 'clipscope') {
    const parent = path.basename(path.dirname(p));
    const base = /^\d+_resid$/.test(parent) ? path.basename(path.dirname(path.dirname(p))) : path.basename(p).replace(/\.(pt|pth)$/i, '');
    return sanitizeName(layer !== null ? `${base}-l${layer}` : base);
  }
  return sanitizeName(path.basename(p));
}

/**
 * Finds importable models at a path: the path itself when it is one, else (a folder) the CLIP
 * model folders, SAELens folders and CLIP-Scope checkpoints below it; in a `N_resid/` folder only
 * the final checkpoint (the largest token count) is taken.
 */
async function findModels(root: string): Promise<{ found: { path: string; inspection: ModelInspection }[]; skipped: { path: string; reason: string }[] }> {
  let direct: ModelInspection | null = null;
  let directErr: unknown = null;
  try {
    direct = await inspectModel(root);
  } catch (err) {
    directErr = err;
  }
  if (direct) return { found: [{ path: root, inspection: direct }], skipped: [] };
  const st = await fs.stat(root).catch(() => null);
  if (!st?.isDirectory() || (await exists(path.join(root, 'config.json'))) || (await exists(path.join(root, 'cfg.json')))) throw directErr;

  const found: { path: string; inspection: ModelInspection }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const tryOne = async (p: string): Promise<void> => {
    try {
      found.push({ path: p, inspection: await inspectModel(p) });
    } catch (err) {
      skipped.push({ path: p, reason: errorMessage(err) });
    }
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    const names = (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => a.name.localeCompare(b.name));
    const checkpoints: { file: string; n: bigint | null }[] = [];
    for (const d of names) {
      if (d.name.startsWith('.')) continue;
      const p = path.join(dir, d.name);
      if (d.isDirectory()) {
        if (await exists(path.join(p, 'config.json'))) await tryOne(p);
        else if (await exists(path.join(p, 'cfg.json'))) await tryOne(p);
        else if (depth < 4) await walk(p, depth + 1);
      } else if (d.isFile() && /\.(pt|pth)$/i.test(d.name)) {
        const m = /^(\d+)\.pt$/.exec(d.name);
        checkpoints.push({ file: p, n: m ? BigInt(m[1]!) : null });
      }
    }
    const numbered = checkpoints.filter((c) => c.n !== null);
    if (/^\d+_resid$/.test(path.basename(dir)) && numbered.length > 1) {
      const best = numbered.reduce((a, b) => (b.n! > a.n! ? b : a));
      for (const c of numbered) if (c !== best) skipped.push({ path: c.file, reason: `an earlier checkpoint than ${path.basename(best.file)}` });
      await tryOne(best.file);
      for (const c of checkpoints) if (c.n === null) await tryOne(c.file);
    } else {
      for (const c of checkpoints) await tryOne(c.file);
    }
  };
  await walk(root, 0);
  if (found.length === 0) {
    throw new ModelFileError(root, `no CLIP model folder, CLIP-Scope checkpoint or SAELens folder found${skipped.length ? ` (${skipped.length} candidate${skipped.length === 1 ? '' : 's'} could not be used: ${skipped[0]!.reason})` : ''}`);
  }
  return { found, skipped };
}

/**
 * Installed models: download the CLIP-Scope bundle from a Hugging Face hub, import local files,
 * verify, remove, and record which libraries use which model. Plain async functions over the
 * models folder; the CLI and the desktop app's first-run screen both drive it.
 */
export class ModelManager {
  readonly dir: string;
  readonly registry: ModelRegistry;
  private readonly opts: ModelManagerOptions;

  constructor(opts: ModelManagerOptions = {}) {
    this.opts = opts;
    this.dir = path.resolve(opts.dir ?? defaultModelsDir());
    this.registry = new ModelRegistry(this.dir);
  }

  private get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  /** Built-in models (the demo) first, then the registry's, each with `present`. */
  async list(): Promise<InstalledModel[]> {
    const reg = await this.registry.read();
    const all = [...(await demoEntries(reg.builtInUsers)), ...reg.models];
    return Promise.all(all.map(async (e) => ({ ...e, present: (await Promise.all(e.files.map((f) => exists(f.path)))).every(Boolean) })));
  }

  async get(name: string): Promise<InstalledModel | undefined> {
    return (await this.list()).find((m) => m.name === name);
  }

  private async require(name: string): Promise<InstalledModel> {
    const m = await this.get(name);
    if (!m) {
      const names = (await this.list()).map((x) => x.name);
      throw new ModelRegistryError(`no model named "${name}" (installed: ${names.length ? names.join(', ') : 'none'})`);
    }
    return m;
  }

  /** Records that a library (its SQLite file) was indexed with a model. */
  async addUser(name: string, library: string): Promise<void> {
    const m = await this.require(name);
    await this.registry.addUser(name, path.resolve(library), m.builtIn);
  }

  async removeUser(name: string, library: string): Promise<void> {
    const m = await this.get(name);
    if (!m) return;
    await this.registry.removeUser(name, path.resolve(library), m.builtIn);
  }

  // ------------------------------------------------------------------------------- download

  /**
   * Downloads the CLIP checkpoint and the layer SAEs asked for into `<dir>/<repo>/<path>`,
   * resuming interrupted transfers, verifying sha256, and registers each model once all its files
   * are in place and inspect accepts it. Per-model failures (404, checksum) are reported and the
   * others go on; no network, no space and cancel stop everything (DownloadError).
   */
  async download(opts: DownloadOptions = {}): Promise<DownloadOutcome> {
    const emit = opts.onEvent ?? ((): void => undefined);
    const endpoint = resolveEndpoint(opts.endpoint ?? this.opts.endpoint, this.env);
    const hub = new HubClient(endpoint, {
      token: this.opts.token === undefined ? tokenFromEnv(this.env) : this.opts.token,
      timeoutMs: this.opts.timeoutMs ?? 30_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const revision = opts.revision ?? DEFAULT_REVISION;
    const plan = await planBundle(hub, { layers: opts.layers ?? DEFAULT_LAYERS, vision: opts.vision ?? true, revision });
    const failed: { name: string; error: Error }[] = [...plan.failed];
    const registered = await this.registry.list();

    // Preflight: which weights file exists, sizes and sha256, 404 / 401 before any big transfer.
    const ready: PlannedModel[] = [];
    for (const m of plan.models) {
      const other = registered.find((e) => e.name === m.name);
      if (other && !(other.source.type === 'hub' && other.managed)) {
        failed.push({ name: m.name, error: new ModelRegistryError(`a model named "${m.name}" is already registered (${other.path}); remove it first`) });
        continue;
      }
      try {
        for (const f of m.files) await this.preflight(hub, m, f);
        ready.push(m);
      } catch (err) {
        if (isFatal(err)) throw err;
        failed.push({ name: m.name, error: err as Error });
      }
    }
    for (const f of failed) emit({ type: 'model-failed', model: f.name, error: f.error.message, kind: f.error instanceof DownloadError ? f.error.kind : 'registry' });

    // What is already in place (verified against the hub's sha256) is not fetched again.
    const todo = new Map<PlannedFile, { dest: string; present: boolean; partial: number }>();
    for (const m of ready) {
      for (const f of m.files) {
        const dest = destOf(this.dir, m.repo, f.path);
        const display = `${f.repo}/${f.path}`;
        let last = 0;
        const present = await this.alreadyThere(dest, f, (bytes, total) => {
          const now = Date.now();
          if (now - last < 100 && bytes < total) return;
          last = now;
          emit({ type: 'progress', model: m.name, progress: { file: display, bytes, total, rate: null, etaSeconds: null, phase: 'verify' }, overall: { bytes: 0, total: null } });
        }, opts.signal);
        todo.set(f, { dest, present, partial: present ? 0 : await fs.stat(partialPath(dest)).then((s) => s.size, () => 0) });
      }
    }
    const missing = [...todo.entries()].filter(([, t]) => !t.present);
    const unknownSize = missing.some(([f]) => f.size === null);
    const needed = missing.reduce((a, [f, t]) => a + Math.max(0, (f.size ?? 0) - t.partial), 0);
    emit({
      type: 'plan', endpoint, notes: plan.notes, totalBytes: unknownSize ? null : missing.reduce((a, [f]) => a + f.size!, 0),
      models: ready.map((m) => ({ name: m.name, kind: m.kind, layer: m.layer, files: m.files.map((f) => ({ file: `${f.repo}/${f.path}`, size: f.size, present: todo.get(f)!.present })) })),
    });
    await ensureFreeSpace(this.dir, needed, this.opts.freeSpace ?? statfsFreeSpace, this.opts.spaceMarginBytes ?? 100 * 1024 * 1024);

    const overallTotal = unknownSize ? null : missing.reduce((a, [f]) => a + f.size!, 0);
    let overallDone = 0;
    const installed: ModelEntry[] = [];
    for (const m of ready) {
      try {
        const records: ModelFileRecord[] = [];
        for (const f of m.files) {
          const t = todo.get(f)!;
          const display = `${f.repo}/${f.path}`;
          if (t.present) {
            const size = (await fs.stat(t.dest)).size;
            emit({ type: 'file-done', model: m.name, file: display, size, sha256: f.sha256!, verified: true, skipped: true, resumedFrom: 0 });
            records.push({ path: t.dest, size, sha256: f.sha256 });
            continue;
          }
          emit({ type: 'file-start', model: m.name, file: display, size: f.size, resumeFrom: t.partial });
          const base = overallDone;
          const r = await downloadFile({
            url: hub.resolveUrl(f.repo, m.commit ?? m.revision, f.path),
            dest: t.dest, display, endpoint, sha256: f.sha256, http: hub.http,
            retry: { ...DEFAULT_RETRY, ...this.opts.retry },
            freeSpace: this.opts.freeSpace ?? statfsFreeSpace,
            spaceMarginBytes: this.opts.spaceMarginBytes ?? 100 * 1024 * 1024,
            onProgress: (p) => emit({ type: 'progress', model: m.name, progress: p, overall: { bytes: base + p.bytes, total: overallTotal } }),
            onRetry: (r) => emit({ type: 'retry', model: m.name, ...r }),
          });
          overallDone += r.size;
          emit({ type: 'file-done', model: m.name, file: display, size: r.size, sha256: r.sha256, verified: r.verified, skipped: false, resumedFrom: r.resumedFrom });
          records.push({ path: r.path, size: r.size, sha256: r.sha256 });
        }
        const where = modelPathOf(this.dir, m);
        let ins: ModelInspection;
        try {
          ins = await inspectModel(where);
        } catch (err) {
          // verified copies of the hub's files that the engine cannot use: do not leave them behind
          const landed = m.files.filter((f) => !todo.get(f)!.present).map((f) => todo.get(f)!.dest);
          const keep = new Set(registered.flatMap((e) => e.files.map((r) => r.path)));
          for (const f of landed) {
            if (keep.has(f)) continue;
            await fs.rm(f, { force: true });
            await pruneEmptyDirs(f, this.dir);
          }
          throw new ModelFileError(where, `${err instanceof ModelFileError ? err.reason : errorMessage(err)} (downloaded from ${m.repo}; the downloaded files were removed)`);
        }
        const weights = ins.kind === 'vision' ? records.find((r) => r.path === path.resolve(ins.weightsFile)) : records[0];
        const entry: ModelEntry = {
          name: m.name, kind: m.kind, path: where, files: records, size: records.reduce((a, r) => a + r.size, 0), sha256: weights?.sha256 ?? null,
          source: { type: 'hub', endpoint, repo: m.repo, revision: m.revision, commit: m.commit, files: m.files.map((f) => f.path) },
          managed: true, layer: ins.kind === 'sae' ? (ins.layer ?? m.layer) : null, baseModel: m.baseModel, details: detailsOf(ins),
          demo: false, builtIn: false, usedBy: registered.find((e) => e.name === m.name)?.usedBy ?? [], addedAt: new Date().toISOString(),
        };
        await this.registry.put(entry);
        installed.push(entry);
        emit({ type: 'model-done', entry });
      } catch (err) {
        if (isFatal(err)) throw err;
        failed.push({ name: m.name, error: err as Error });
        emit({ type: 'model-failed', model: m.name, error: (err as Error).message, kind: err instanceof DownloadError ? err.kind : err instanceof ModelFileError ? 'unusable' : 'error' });
      }
    }
    return { installed, failed };
  }

  private async preflight(hub: HubClient, m: PlannedModel, f: PlannedFile): Promise<void> {
    const rev = m.commit ?? m.revision;
    for (let i = 0; i < f.candidates.length; i++) {
      const c = f.candidates[i]!;
      try {
        const info = await hub.fileInfo(f.repo, rev, c);
        f.path = c;
        f.size ??= info?.size ?? null;
        f.sha256 ??= info?.sha256 ?? null;
        return;
      } catch (err) {
        if (err instanceof DownloadError && err.kind === 'not-found') {
          if (i + 1 < f.candidates.length) continue;
          if (f.candidates.length > 1) throw new DownloadError('not-found', `${f.repo}@${m.revision} at ${hub.endpoint} holds none of ${f.candidates.join(', ')}`);
          throw err;
        }
        if (err instanceof DownloadError && err.transient) {
          f.path = c; // the GET will retry with backoff
          return;
        }
        throw err;
      }
    }
  }

  /** A file already at its final place whose sha256 (hashed now: files can be damaged) is the hub's. */
  private async alreadyThere(dest: string, f: PlannedFile, onBytes: (bytes: number, total: number) => void, signal?: AbortSignal): Promise<boolean> {
    if (!f.sha256) return false;
    const st = await fs.stat(dest).catch(() => null);
    if (!st?.isFile() || (f.size !== null && st.size !== f.size)) return false;
    return (await sha256File(dest, { onBytes: (b) => onBytes(b, st.size), ...(signal ? { signal } : {}) })) === f.sha256;
  }

  // ------------------------------------------------------------------------------- import

  /**
   * Registers local models after inspect accepts them: a CLIP model folder, a CLIP-Scope .pt, a
   * SAELens folder, or a folder holding several. By reference (the files stay where they are and
   * are never modified) unless `copy`, which copies them into `<dir>/imported/<name>/`.
   */
  async importModels(p: string, opts: ImportOptions = {}): Promise<ImportOutcome> {
    const root = path.resolve(p);
    const { found, skipped: scanSkipped } = await findModels(root);
    if (opts.name !== undefined) {
      checkModelName(opts.name);
      if (found.length > 1) throw new ModelRegistryError(`${root} holds ${found.length} models; --name names one (import them one by one to name each)`);
    }
    const skipped = [...scanSkipped];
    const imported: ModelEntry[] = [];
    for (const { path: mp, inspection: ins } of found) {
      const reg = await this.list();
      const real = await realpathOr(mp);
      const same = reg.find((e) => (e.source.type === 'import' && !e.source.copied && e.source.path === real) || e.path === real);
      if (same) {
        if (opts.name !== undefined && opts.name !== same.name) throw new ModelRegistryError(`${mp} is already registered as "${same.name}"`);
        skipped.push({ path: mp, reason: `already registered as "${same.name}"` });
        continue;
      }
      let layer: number | null = null;
      if (ins.kind === 'sae') {
        if (opts.layer !== undefined && ins.layer !== null && ins.layer !== opts.layer) {
          throw new ModelRegistryError(`${mp}: the file says layer ${ins.layer}, not ${opts.layer}`);
        }
        layer = ins.layer ?? opts.layer ?? null;
      }
      let name = opts.name ?? defaultImportName(real, ins, layer);
      if (reg.some((e) => e.name === name)) {
        if (opts.name !== undefined) throw new ModelRegistryError(`a model named "${name}" is already registered; choose another --name`);
        let i = 2;
        while (reg.some((e) => e.name === `${name}-${i}`)) i++;
        name = `${name}-${i}`;
      }
      checkModelName(name);
      const sources = await filesOfModel(real, ins);
      const entry = opts.copy ? await this.importCopy(name, real, ins, sources, layer, opts) : await this.importReference(name, real, ins, sources, layer, opts);
      await this.registry.put(entry);
      imported.push(entry);
    }
    return { imported, skipped };
  }

  private async record(file: string, opts: ImportOptions): Promise<ModelFileRecord> {
    const size = (await fs.stat(file)).size;
    const sha256 = await sha256File(file, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onBytes: (bytes: number) => opts.onProgress!({ file, bytes, total: size, phase: 'hash' }) } : {}),
    });
    return { path: file, size, sha256 };
  }

  private entryOf(name: string, where: string, ins: ModelInspection, records: ModelFileRecord[], layer: number | null, source: ModelEntry['source'], managed: boolean): ModelEntry {
    const weights = ins.kind === 'vision' ? records[2] : records[records.length - 1];
    return {
      name, kind: ins.kind, path: where, files: records, size: records.reduce((a, r) => a + r.size, 0), sha256: weights?.sha256 ?? null,
      source, managed, layer, baseModel: null, details: detailsOf(ins), demo: isDemoPath(where), builtIn: false, usedBy: [],
      addedAt: new Date().toISOString(),
    };
  }

  private async importReference(name: string, real: string, ins: ModelInspection, sources: string[], layer: number | null, opts: ImportOptions): Promise<ModelEntry> {
    const records: ModelFileRecord[] = [];
    for (const f of sources) records.push(await this.record(f, opts));
    return this.entryOf(name, real, ins, records, layer, { type: 'import', path: real, copied: false }, false);
  }

  private async importCopy(name: string, real: string, ins: ModelInspection, sources: string[], layer: number | null, opts: ImportOptions): Promise<ModelEntry> {
    const root = path.join(this.dir, 'imported', name);
    await fs.rm(root, { recursive: true, force: true }); // leftovers of an interrupted copy (not registered)
    const total = (await Promise.all(sources.map((f) => fs.stat(f)))).reduce((a, s) => a + s.size, 0);
    await ensureFreeSpace(this.dir, total, this.opts.freeSpace ?? statfsFreeSpace, this.opts.spaceMarginBytes ?? 100 * 1024 * 1024);
    const isPt = ins.kind === 'sae' && ins.format === 'clipscope';
    const parent = path.basename(path.dirname(real));
    const destOfSource = (f: string): string => {
      if (!isPt) return path.join(root, path.basename(f));
      const sub = /^\d+_resid$/.test(parent) ? parent : layer !== null ? `${layer}_resid` : '';
      return path.join(root, sub, path.basename(f));
    };
    const records: ModelFileRecord[] = [];
    try {
      for (const f of sources) {
        const src = await this.record(f, opts);
        const dest = destOfSource(f);
        await fs.mkdir(path.dirname(dest), { recursive: true });
        opts.onProgress?.({ file: f, bytes: 0, total: src.size, phase: 'copy' });
        await fs.copyFile(f, partialPath(dest), fsConstants.COPYFILE_FICLONE);
        const copied = await sha256File(partialPath(dest), opts.signal ? { signal: opts.signal } : {});
        if (copied !== src.sha256) throw new ModelFileError(f, 'the copy does not match the original (the file changed while it was copied, or the disk is failing)');
        await fs.rename(partialPath(dest), dest);
        opts.onProgress?.({ file: f, bytes: src.size, total: src.size, phase: 'copy' });
        records.push({ path: dest, size: src.size, sha256: src.sha256 });
      }
      const where = ins.kind === 'vision' || !isPt ? root : records[0]!.path;
      const insCopy = await inspectModel(where);
      return this.entryOf(name, where, insCopy, records, layer ?? (insCopy.kind === 'sae' ? insCopy.layer : null), { type: 'import', path: real, copied: true }, true);
    } catch (err) {
      await fs.rm(root, { recursive: true, force: true });
      throw err;
    }
  }

  // ------------------------------------------------------------------------------- verify

  /**
   * Checks every model (or one): each file present, of the recorded size and sha256 (unless
   * `quick`), and the model still accepted by inspect. Also lists interrupted downloads.
   */
  async verify(opts: { name?: string; quick?: boolean; signal?: AbortSignal; onProgress?: (p: { name: string; file: string; bytes: number; total: number }) => void } = {}): Promise<VerifyOutcome> {
    const models = opts.name !== undefined ? [await this.require(opts.name)] : await this.list();
    const reports: VerifyReport[] = [];
    for (const m of models) {
      const problems: string[] = [];
      let hashed = 0;
      for (const f of m.files) {
        const st = await fs.stat(f.path).catch(() => null);
        if (!st) {
          problems.push(`${f.path} is missing`);
          continue;
        }
        if (st.size !== f.size) {
          problems.push(`${f.path} has ${formatBytes(st.size)}, ${formatBytes(f.size)} expected (modified or truncated)`);
          continue;
        }
        if (f.sha256 && !opts.quick) {
          const sum = await sha256File(f.path, {
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.onProgress ? { onBytes: (bytes: number) => opts.onProgress!({ name: m.name, file: f.path, bytes, total: f.size }) } : {}),
          });
          hashed++;
          if (sum !== f.sha256) problems.push(`${f.path} does not match its sha256 (corrupt or modified)`);
        }
      }
      if (problems.length === 0) {
        try {
          await inspectModel(m.path);
        } catch (err) {
          problems.push(errorMessage(err));
        }
      }
      reports.push({ name: m.name, kind: m.kind, builtIn: m.builtIn, ok: problems.length === 0, problems, hashed });
    }
    return { models: reports, partials: opts.name !== undefined ? [] : await this.partials() };
  }

  /** Interrupted downloads (`*.partial`) under the models folder. */
  async partials(): Promise<{ path: string; size: number }[]> {
    const out: { path: string; size: number }[] = [];
    const walk = async (d: string, depth: number): Promise<void> => {
      for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth < 6) await walk(p, depth + 1);
        else if (e.isFile() && e.name.endsWith('.partial')) out.push({ path: p, size: (await fs.stat(p)).size });
      }
    };
    await walk(this.dir, 0);
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  // ------------------------------------------------------------------------------- remove

  /**
   * Unregisters a model. Files we downloaded or copied (inside the models folder) are deleted;
   * imported files are never touched; libraries and their indexed results are never touched.
   * A model that libraries use is kept unless `force`.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<RemoveOutcome> {
    const m = await this.require(name);
    if (m.builtIn) throw new ModelRegistryError(`"${name}" is built in (shipped with the app) and cannot be removed`);
    if (m.usedBy.length > 0 && !opts.force) {
      throw new ModelRegistryError(`"${name}" is used by ${m.usedBy.length === 1 ? 'the library' : `${m.usedBy.length} libraries:`} ${m.usedBy.join(', ')}; their indexed results would stay, but re-indexing needs the model`).withCode('model-in-use');
    }
    const deleted: string[] = [];
    const kept: string[] = [];
    const others = (await this.registry.list()).filter((e) => e.name !== name).flatMap((e) => e.files.map((f) => f.path));
    for (const f of m.files) {
      if (m.managed && isInside(f.path, this.dir) && !others.includes(f.path)) {
        await fs.rm(f.path, { force: true });
        await discardPartial(f.path);
        deleted.push(f.path);
      } else {
        kept.push(f.path);
      }
    }
    await this.registry.delete(name);
    for (const f of deleted) await pruneEmptyDirs(f, this.dir);
    return { entry: m, deleted, kept };
  }
}

/** Errors that stop a whole download: no network, no space, cancel, a bad endpoint. */
function isFatal(err: unknown): boolean {
  if (err instanceof DownloadError) return err.kind === 'network' || err.kind === 'disk-space' || err.kind === 'cancelled' || err.kind === 'timeout';
  return !(err instanceof UserFacingError);
}
