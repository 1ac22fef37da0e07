/**
 * The engine behind the API contract for the app (Electron and the local web mode alike): the
 * open library, its folders and indexing jobs, the installed models and the read queries. It
 * runs inside the engine host (a worker thread or Electron utility process), never on a UI or
 * HTTP event loop; transports reach it through the host's messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  ApiEvent,
  ApiEventPayloads,
  AppState,
  EngineImpl,
  LibraryInfo,
} from '../../common/contract/index.js';
import { UserFacingError } from '../engine/errors.js';
import { demoDir, readDemoManifest } from '../engine/models/demo.js';
import { ModelManager } from '../engine/models/manager.js';
import { openLibrary as openLibraryFile, type WritableLibrary } from '../engine/store/library.js';
import { configImageCounts, folderStats, presentImageCount } from '../engine/store/overview.js';
import { dataDir } from '../engine/runtime/paths.js';
import { createEngineService } from '../engine/service.js';
import { checkFolder } from '../engine/library/folders.js';
import { Downloads } from './downloads.js';
import { IndexRunner } from './index-runner.js';
import { mediaFile, type MediaFile, type MediaKind } from './media.js';
import { QueryPool } from './query-pool.js';
import type { ReadMethod } from './read-queries.js';
import { RecentLibraries } from './recent-libraries.js';
import { SteerService } from './steer-service.js';
import { setLabel } from '../engine/queries/labels.js';
import { resolveConfig } from '../engine/queries/config.js';
import { searchFeatures } from '../engine/queries/features.js';

export interface AppServiceOptions {
  /** The library to open at start (`clipscope serve --db`). */
  library?: string;
  /** Settings file (recent libraries); default in the per-user data folder. */
  settingsFile?: string;
  /** Thumbnails folder; default the per-user cache. */
  thumbDir?: string;
  /** Where libraries are created by default (and the demo library). */
  librariesDir?: string;
}

export type EventSink = <E extends ApiEvent>(event: E, payload: ApiEventPayloads[E]) => void;

export interface AppService extends EngineImpl {
  /** Media by image id, for the transports' media routes. */
  media(kind: MediaKind, imageId: number): Promise<MediaFile>;
  /** Pauses a running job (remembered, resumed on the next open) and closes the library. */
  close(): Promise<void>;
}

const DEMO_LIBRARY = 'demo-library.sqlite';

interface OpenLibrary {
  lib: WritableLibrary;
  runner: IndexRunner;
  demo: boolean;
}

export function createAppService(emit: EventSink, opts: AppServiceOptions = {}): AppService {
  const engine = createEngineService();
  const recent = new RecentLibraries(opts.settingsFile);
  const librariesDir = opts.librariesDir ?? path.join(dataDir(), 'libraries');
  let open: OpenLibrary | null = null;
  const queries = new QueryPool();
  const steer = new SteerService();
  const downloads = new Downloads(() => new ModelManager(), (s) => emit('models.download', s));
  const listModels = async () =>
    (await new ModelManager().list()).map((m) => ({
      name: m.name, kind: m.kind, path: m.path, size: m.size, layer: m.layer, demo: m.demo, builtIn: m.builtIn, managed: m.managed, present: m.present,
    }));

  const current = (): OpenLibrary => {
    if (!open) throw new UserFacingError('no library is open: open or create one first').withCode('no-library');
    return open;
  };

  const libraryInfo = (o: OpenLibrary): LibraryInfo => {
    const counts = configImageCounts(o.lib);
    return {
      file: o.lib.file,
      name: path.basename(o.lib.file).replace(/\.[^.]+$/, ''),
      images: presentImageCount(o.lib),
      folders: folderStats(o.lib).map((f) => ({ ...f, available: fs.existsSync(f.path) })),
      configs: o.lib.listConfigs().map((c) => ({
        id: c.id, layer: c.layer, modelDir: c.modelDir, saePath: c.saePath, normalization: c.normalization,
        nFeatures: c.nFeatures, tokens: c.tokens, images: counts.get(c.id) ?? 0,
      })),
      demo: o.demo,
    };
  };

  const appState = (): AppState => ({
    library: open ? libraryInfo(open) : null,
    recent: recent.list().map((r) => ({
      file: r.file, openedAt: r.openedAt, exists: fs.existsSync(r.file), name: path.basename(r.file).replace(/\.[^.]+$/, ''),
    })),
    demoAvailable: demoDir() !== null,
    defaultLibraryDir: librariesDir,
  });

  const changed = (): AppState => {
    const s = appState();
    emit('app.state', s);
    return s;
  };

  const closeLibrary = async (): Promise<void> => {
    const o = open;
    if (!o) return;
    open = null;
    await queries.release();
    const paused = await o.runner.stop();
    if (paused !== null) recent.setResume(o.lib.file, paused);
    o.lib.close();
  };

  const openLibrary = async (file: string, how: 'open' | 'create'): Promise<AppState> => {
    const abs = path.resolve(file);
    if (how === 'open' && !fs.existsSync(abs)) throw new UserFacingError(`${abs}: no such library file`);
    if (how === 'create' && fs.existsSync(abs)) throw new UserFacingError(`${abs} already exists: open it instead, or choose another name`);
    if (open?.lib.file === abs) return changed();
    await closeLibrary();
    const lib = openLibraryFile(abs, { write: true });
    const demoFolder = demoDir();
    const demo = demoFolder !== null && path.basename(abs) === DEMO_LIBRARY && lib.listFolders().some((f) => f.path === path.join(demoFolder, 'photos'));
    const o: OpenLibrary = {
      lib,
      demo,
      runner: new IndexRunner(lib, {
        ...(opts.thumbDir === undefined ? {} : { thumbDir: opts.thumbDir }),
        onStatus: (s) => emit('index.status', s),
        onFinished: () => {
          if (open === o) changed();
        },
      }),
    };
    open = o;
    recent.touch(abs);
    const resume = recent.takeResume(abs);
    if (resume !== null && o.runner.status().resumable.includes(resume)) o.runner.resume(resume);
    return changed();
  };

  const read = <M extends ReadMethod>(method: M) => (input: unknown) =>
    queries.query(current().lib.file, method, input) as ReturnType<EngineImpl[M]>;

  return {
    'engine.info': () => engine['engine.info'](),
    'models.inspect': (input) => engine['models.inspect'](input),
    'encode.image': (input) => engine['encode.image'](input),

    'app.state': async () => appState(),
    'settings.get': async () => recent.settings(),
    'settings.set': async (patch) => recent.updateSettings(patch),
    'library.open': ({ file }) => openLibrary(file, 'open'),
    'library.create': ({ file }) => openLibrary(file, 'create'),
    'library.close': async () => {
      await closeLibrary();
      return changed();
    },
    'library.forget': async ({ file }) => {
      recent.forget(path.resolve(file));
      return changed();
    },
    'folders.add': async ({ path: p }) => {
      current().lib.addFolder(checkFolder(p));
      return changed();
    },
    'folders.remove': async ({ path: p }) => {
      current().lib.removeFolder(path.resolve(p));
      return changed();
    },

    'index.start': async ({ model, sae, layer, folders, retryFailed }) => {
      const o = current();
      const roots = folders ? folders.map(checkFolder) : o.lib.listFolders().map((f) => f.path);
      if (roots.length === 0) throw new UserFacingError('the library has no folders yet: add a photo folder first');
      for (const r of roots) o.lib.addFolder(r);
      const s = o.runner.start({ folders: roots, modelDir: model, sae, layer: layer ?? null, retryFailed: retryFailed ?? false });
      changed();
      return s;
    },
    'index.status': async () => (open ? open.runner.status() : { job: null, resumable: [] }),
    'index.pause': async () => current().runner.pause(),
    'index.resume': async ({ jobId }) => current().runner.resume(jobId),
    'index.cancel': async () => current().runner.cancel(),
    'index.failures': async ({ jobId }) => current().runner.failures(jobId),

    'models.list': listModels,
    'models.download': async ({ layers, vision }) => downloads.start(layers, vision),
    'models.downloadStatus': async () => downloads.current(),
    'models.cancelDownload': async () => downloads.cancel(),
    'models.import': async ({ path: p, layer }) => {
      const out = await new ModelManager().importModels(path.resolve(p), layer === undefined ? {} : { layer });
      const names = new Set(out.imported.map((m) => m.name));
      return { imported: (await listModels()).filter((m) => names.has(m.name)), skipped: out.skipped.map((s) => ({ path: s.path, reason: s.reason })) };
    },
    'models.verify': async ({ name, quick }) => {
      const out = await new ModelManager().verify({ quick, ...(name === undefined ? {} : { name }) });
      return {
        models: out.models.map((m) => ({ name: m.name, kind: m.kind, ok: m.ok, problems: [...m.problems] })),
        partials: out.partials.map((p) => ({ path: p.path, size: p.size })),
      };
    },
    'models.remove': async ({ name, force }) => {
      await new ModelManager().remove(name, { force });
      return listModels();
    },
    'demo.setup': async () => {
      const dir = demoDir();
      const manifest = dir ? await readDemoManifest(dir) : null;
      if (!dir || !manifest) throw new UserFacingError('the offline demo is not part of this installation');
      const file = path.join(librariesDir, DEMO_LIBRARY);
      await openLibrary(file, fs.existsSync(file) ? 'open' : 'create');
      const o = current();
      const photos = path.join(dir, manifest.photos);
      // One demo library serves every copy of the app on this account: the demo folder another
      // checkout (or an older install) added, still there or deleted since, gives way to this
      // one's, with its photos and results purged (else the demo shows both sets).
      const rel = path.normalize(manifest.photos);
      const stale = o.lib.listFolders().map((f) => f.path).filter((p) => {
        if (p === photos || !p.endsWith(path.sep + rel)) return false;
        const root = p.slice(0, -(rel.length + 1));
        return fs.existsSync(path.join(root, 'demo.json')) || (!fs.existsSync(p) && path.basename(root) === path.basename(dir));
      });
      for (const p of stale) o.lib.removeFolder(p);
      if (stale.length) o.lib.purgeRemoved();
      o.lib.addFolder(photos);
      o.demo = true;
      if (!o.runner.busy) {
        o.runner.start({ folders: [photos], modelDir: path.join(dir, manifest.model.path), sae: path.join(dir, manifest.sae.path), layer: null, retryFailed: false });
      }
      return changed();
    },

    // Off this thread, on read-only handles (query-worker.ts).
    'images.list': read('images.list'),
    'image.get': read('image.get'),
    'gallery.get': read('gallery.get'),
    'metrics.get': read('metrics.get'),
    'features.search': read('features.search'),
    'feature.details': read('feature.details'),
    'feature.heat': read('feature.heat'),
    'feature.similar': read('feature.similar'),
    'features.previews': read('features.previews'),
    'images.search': read('images.search'),
    'query.run': read('query.run'),
    'labels.set': async ({ feature, label, note, layer }) => {
      const lib = current().lib;
      const config = resolveConfig(lib, layer === undefined ? {} : { layer });
      setLabel(lib, config, feature, { ...(label === undefined ? {} : { label }), ...(note === undefined ? {} : { note }) });
      const info = searchFeatures(lib, config, { features: [feature], limit: 1 }).items[0];
      if (!info) throw new UserFacingError(`feature ${feature} has no statistics in this library yet`).withCode('not-found');
      return info;
    },
    'steer.preview': (input) => steer.preview(current().lib, input),

    media: (kind, imageId) => mediaFile(current().lib, kind, imageId, opts.thumbDir),
    async close() {
      downloads.cancel();
      await closeLibrary();
      await queries.close();
      await steer.close();
      await engine.close();
    },
  };
}
