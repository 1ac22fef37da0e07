/** The library: its photos (a virtualised grid), folders, configurations and indexing. */
import { useDeferredValue, useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { FolderPlus, Images, Trash2 } from 'lucide-react';
import type { FolderInfo, LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, pathOfDropped, pickFolder } from '../platform.js';
import { setAppState, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { Badge, EmptyState, ErrorMessage, Stat } from '../ui/bits.js';
import { count, when } from '../ui/format.js';
import { IndexingCard } from './Indexing.js';
import { PhotoGrid } from './PhotoGrid.js';
import { libraryRoute } from './library-route.js';

export function LibraryView() {
  const state = useAppState();
  const navigate = useNavigate();
  useEffect(() => {
    if (state.data && !state.data.library) void navigate({ to: '/setup', replace: true });
  }, [state.data, navigate]);
  return (
    <RequireLibrary>
      {state.data?.library && <Library library={state.data.library} />}
    </RequireLibrary>
  );
}

function Library({ library }: { library: LibraryInfo }) {
  const { folder } = libraryRoute.useSearch();
  const navigate = useNavigate();
  const [dropping, setDropping] = useState(false);
  const [dropped, setDropped] = useState<string | null>(null);
  const [dropError, setDropError] = useState<string | null>(null);
  const selectedFolder = folder && library.folders.some((f) => f.path === folder) ? folder : undefined;
  // Photos first: the side cards (indexing, folders, configurations) render in a transition just
  // after, so opening the library is not one long task with them.
  const side = useDeferredValue(true, false);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDropping(false);
    const path = droppedPath(e.dataTransfer);
    if (path) {
      setDropError(null);
      setDropped(path);
    } else {
      setDropError('This window cannot read the path of a dropped folder. Type or paste its path in "Add a folder".');
    }
  };

  return (
    <div
      className={`library${dropping ? ' dropping' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDropping(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDropping(false);
      }}
      onDrop={onDrop}
    >
      <section className="library-photos" aria-label="Photos">
        <div className="section-head">
          <h1 className="h-title">
            {selectedFolder ? <span title={selectedFolder}>Photos in {selectedFolder}</span> : 'All photos'}
          </h1>
          {selectedFolder && (
            <button type="button" className="btn btn-small btn-quiet" onClick={() => void navigate({ to: '/library', search: {} })}>
              Show all photos
            </button>
          )}
        </div>
        {library.images === 0 && library.folders.length === 0 ? (
          <EmptyState icon={<FolderPlus size={28} />} title="Add a folder of photos">
            <p>Type a folder's path in "Add a folder" on the right (or drop a folder here), then index it.</p>
          </EmptyState>
        ) : (
          <PhotoGrid libraryFile={library.file} folder={selectedFolder} expected={library.images} />
        )}
      </section>
      <aside className="library-side" aria-label="Library details">
        {side && <LibrarySide library={library} dropped={dropped} dropError={dropError} />}
      </aside>
    </div>
  );
}

function LibrarySide({ library, dropped, dropError }: { library: LibraryInfo; dropped: string | null; dropError: string | null }) {
  return (
    <>
      <section className="card">
        <div className="lib-head">
          <h2>{library.name}</h2>
          <div className="muted small path" title={library.file}>{library.file}</div>
        </div>
        <div className="stats">
          <Stat label="photos" value={library.images.toLocaleString()} tip="Photos present in the library's folders (those that disappeared from disk are not counted)." />
          <Stat label="folders" value={library.folders.length} tip="Folders this library indexes." />
          <Stat label="configurations" value={library.configs.length} tip="Model, SAE and layer combinations this library has results for." />
        </div>
      </section>
      <IndexingCard library={library} />
      <FoldersCard library={library} initialPath={dropped} dropError={dropError} />
      <ConfigsCard library={library} />
    </>
  );
}

/** A folder's path from a drop, where the platform gives one (a file:// URI or a typed path). */
function droppedPath(data: DataTransfer): string | null {
  const file = data.files[0];
  const native = file ? pathOfDropped(file) : null;
  if (native) return native;
  const uris = data.getData('text/uri-list').split(/\r?\n/).filter((l) => l && !l.startsWith('#'));
  for (const uri of uris) {
    if (uri.startsWith('file://')) {
      try {
        return decodeURIComponent(new URL(uri).pathname);
      } catch {
        // not a usable URI; try the next
      }
    }
  }
  const text = data.getData('text/plain').trim();
  return /^(\/|[A-Za-z]:\\|~)/.test(text) && !text.includes('\n') ? text : null;
}

function FoldersCard({ library, initialPath, dropError }: { library: LibraryInfo; initialPath: string | null; dropError: string | null }) {
  const [path, setPath] = useState('');
  const [touched, setTouched] = useState(false);
  const [confirm, setConfirm] = useState<FolderInfo | null>(null);
  const add = useMutation({
    mutationFn: (p: string) => engine['folders.add']({ path: p }),
    onSuccess: (s) => {
      setAppState(s);
      setPath('');
      setTouched(false);
    },
  });
  const remove = useMutation({
    mutationFn: (p: string) => engine['folders.remove']({ path: p }),
    onSuccess: (s) => {
      setAppState(s);
      setConfirm(null);
    },
  });
  useEffect(() => {
    if (initialPath) {
      setPath(initialPath);
      add.reset();
    }
  }, [initialPath]);

  const trimmed = path.trim();
  const localError = touched && trimmed === '' ? 'Type the path of a folder of photos.' : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (trimmed) add.mutate(trimmed);
  };

  return (
    <section className="card" aria-labelledby="folders-title">
      <h2 id="folders-title">Folders</h2>
      {library.folders.length === 0 ? (
        <p className="muted">No folders yet: add one below.</p>
      ) : (
        <ul className="list folders">
          {library.folders.map((f) => (
            <li key={f.path} className="list-row folder-row" data-testid="folder-row">
              <div className="grow min0">
                <a className="path folder-path" href={`#/library?folder=${encodeURIComponent(f.path)}`} title={`Show only the photos in ${f.path}`}>
                  {f.path}
                </a>
                <div className="muted small">
                  <span data-testid="folder-images">{count(f.images, 'photo')}</span>
                  {f.failed > 0 && (
                    <>
                      {' · '}
                      <span className="text-error" data-testid="folder-failed">{f.failed} failed</span>
                    </>
                  )}
                  {' · '}
                  <span title="When an indexing run covering this folder last finished">
                    {f.indexedAt === null ? 'not indexed yet' : `indexed ${when(f.indexedAt)}`}
                  </span>
                </div>
                {!f.available && <Badge tone="error" title="The folder is not on disk now (an unplugged drive?). Its results are kept.">Unavailable</Badge>}
              </div>
              <button type="button" className="btn btn-small btn-quiet icon-btn" aria-label={`Remove folder ${f.path}`} title="Remove this folder" onClick={() => setConfirm(f)}>
                <Trash2 size={14} aria-hidden />
              </button>
            </li>
          ))}
        </ul>
      )}
      <form className="add-folder" onSubmit={submit} noValidate>
        <label className="field">
          <span>Add a folder</span>
          <div className="row">
            <input
              type="text"
              name="folder-path"
              className="grow"
              value={path}
              placeholder="/home/you/Pictures"
              spellCheck={false}
              autoComplete="off"
              aria-invalid={Boolean(localError || add.error)}
              aria-describedby="folder-error"
              onChange={(e) => {
                setPath(e.target.value);
                add.reset();
              }}
            />
            <button type="submit" className="btn" disabled={add.isPending}>
              <FolderPlus size={14} aria-hidden /> Add
            </button>
            {pickFolder && (
              <button
                type="button"
                className="btn"
                disabled={add.isPending}
                onClick={() => void pickFolder!().then((p) => {
                  if (p) add.mutate(p);
                })}
              >
                Choose…
              </button>
            )}
          </div>
        </label>
        <div id="folder-error" data-testid="folder-error">
          {localError && <p className="field-error">{localError}</p>}
          {dropError && !add.error && <p className="field-error">{dropError}</p>}
          <ErrorMessage error={add.error} />
        </div>
        <p className="muted small">Or drop a folder onto the window. New folders are indexed when you press Index.</p>
      </form>
      <ConfirmDialog
        folder={confirm}
        pending={remove.isPending}
        error={remove.error}
        onCancel={() => {
          setConfirm(null);
          remove.reset();
        }}
        onConfirm={() => confirm && remove.mutate(confirm.path)}
      />
    </section>
  );
}

function ConfirmDialog(props: { folder: FolderInfo | null; pending: boolean; error: unknown; onCancel: () => void; onConfirm: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.folder && !d.open) d.showModal();
    if (!props.folder && d.open) d.close();
  }, [props.folder]);
  return (
    <dialog ref={ref} className="dialog" onClose={props.onCancel} aria-labelledby="remove-title">
      {props.folder && (
        <>
          <h2 id="remove-title">Remove this folder?</h2>
          <p className="path">{props.folder.path}</p>
          <p>
            The library stops indexing it. Its {count(props.folder.images, 'photo')} keep their results until the library is
            purged, and the photos on disk are not touched.
          </p>
          <ErrorMessage error={props.error} />
          <div className="row row-end">
            <button type="button" className="btn btn-quiet" onClick={props.onCancel} autoFocus>
              Keep it
            </button>
            <button type="button" className="btn btn-danger" disabled={props.pending} onClick={props.onConfirm}>
              Remove folder
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}

function ConfigsCard({ library }: { library: LibraryInfo }) {
  return (
    <section className="card" aria-labelledby="configs-title">
      <h2 id="configs-title">Configurations</h2>
      {library.configs.length === 0 ? (
        <p className="muted">
          <Images size={14} aria-hidden /> No results yet: index the library to choose a model, an SAE and a layer.
        </p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th title="Residual-stream layer the SAE reads">Layer</th>
              <th title="SAE features (latents)">Features</th>
              <th title="Photos with results for this configuration">Photos</th>
              <th title="Activation normalisation before the SAE">Norm.</th>
            </tr>
          </thead>
          <tbody>
            {library.configs.map((c) => (
              <tr key={c.id} title={`Model: ${c.modelDir}\nSAE: ${c.saePath}`}>
                <td>{c.layer}</td>
                <td>{c.nFeatures.toLocaleString()}</td>
                <td data-testid="config-images">{c.images.toLocaleString()}</td>
                <td>{c.normalization}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
