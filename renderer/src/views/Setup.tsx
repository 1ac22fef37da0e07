/** First run / start screen: what the app needs, the offline demo, models, and libraries by path. */
import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { FlaskConical, FolderOpen, FolderPlus, HardDrive, X } from 'lucide-react';
import { engine } from '../platform.js';
import { setAppState, useAppState } from '../queries.js';
import { ErrorMessage, Badge } from '../ui/bits.js';
import { ModelsSection } from './Models.js';
import { when } from '../ui/format.js';

export function SetupView() {
  const state = useAppState();
  const navigate = useNavigate();
  const demo = useMutation({
    mutationFn: () => engine['demo.setup'](undefined),
    onSuccess: (s) => {
      setAppState(s);
      void navigate({ to: '/library' });
    },
  });
  const app = state.data;
  if (!app) return null;

  return (
    <div className="view-pad setup">
      <header className="setup-head">
        <h1>Welcome to CLIP-Scope</h1>
        <p className="lede">
          CLIP-Scope runs the CLIP ViT-L/14 vision model (LAION-2B) over your photos and reads its activations with sparse autoencoders
          (SAEs), so you can see which of thousands of learned features fire on each photo, and where. Everything
          runs on this computer; your photos never leave it.
        </p>
        <div className="needs">
          <div className="need">
            <HardDrive size={18} aria-hidden />
            <div>
              <strong>About 1.7 GB</strong> for the ViT-L/14 vision checkpoint, and <strong>about 0.5 GB</strong> per SAE
              layer you choose.
            </div>
          </div>
          <div className="need">
            <FolderOpen size={18} aria-hidden />
            <div>
              A <strong>library file</strong> that keeps each photo's features (about 32 KB per photo and layer), and the
              folders of photos to index.
            </div>
          </div>
        </div>
        {app.library && (
          <p className="message message-info">
            A library is open: <strong>{app.library.name}</strong> ({app.library.file}).{' '}
            <a href="#/library">Back to it</a>
          </p>
        )}
      </header>

      <section className="choices" aria-label="Ways to start">
        <article className="card choice">
          <h2>
            <FlaskConical size={18} aria-hidden /> Try the offline demo
          </h2>
          <p>
            Indexes {`five`} bundled sample photos with a tiny built-in model, in a few seconds, with no download. The
            app works exactly as with the real models.
          </p>
          <p>
            <Badge tone="warn">Random weights</Badge> The demo model is not CLIP: its features are meaningless. Use it to
            learn the app, not to study the photos.
          </p>
          <ErrorMessage error={demo.error} title="The demo could not start." />
          <button
            type="button"
            className="btn btn-primary"
            disabled={!app.demoAvailable || demo.isPending}
            onClick={() => demo.mutate()}
          >
            {demo.isPending ? 'Setting up the demo…' : 'Try the offline demo'}
          </button>
          {!app.demoAvailable && <p className="muted small">The demo files are not part of this installation.</p>}
        </article>

        <LibraryCard defaultDir={app.defaultLibraryDir} />
      </section>

      <ModelsSection />

      <RecentList />
    </div>
  );
}

function LibraryCard({ defaultDir }: { defaultDir: string }) {
  const navigate = useNavigate();
  const [path, setPath] = useState('');
  const [touched, setTouched] = useState(false);
  const action = useMutation({
    mutationFn: ({ kind, file }: { kind: 'open' | 'create'; file: string }) =>
      kind === 'open' ? engine['library.open']({ file }) : engine['library.create']({ file }),
    onSuccess: (s) => {
      setAppState(s);
      void navigate({ to: '/library' });
    },
  });
  const trimmed = path.trim();
  const localError = touched && trimmed === '' ? 'Type the path of a library file.' : null;
  const submit = (kind: 'open' | 'create') => (e?: FormEvent) => {
    e?.preventDefault();
    setTouched(true);
    if (trimmed === '') return;
    action.mutate({ kind, file: trimmed });
  };
  const placeholder = `${defaultDir}/photos.sqlite`;
  return (
    <article className="card choice">
      <h2>
        <FolderPlus size={18} aria-hidden /> Open or create a library
      </h2>
      <p>
        A library is one file. New libraries go in <code className="path">{defaultDir}</code> unless you type another
        path.
      </p>
      <form onSubmit={submit('open')} noValidate>
        <label className="field">
          <span>Library file</span>
          <input
            type="text"
            name="library-file"
            value={path}
            placeholder={placeholder}
            spellCheck={false}
            autoComplete="off"
            aria-invalid={Boolean(localError || action.error)}
            aria-describedby="library-file-error"
            onChange={(e) => {
              setPath(e.target.value);
              action.reset();
            }}
          />
        </label>
        <div id="library-file-error">
          {localError && <p className="field-error">{localError}</p>}
          <ErrorMessage error={action.error} />
        </div>
        <div className="row">
          <button type="submit" className="btn" disabled={action.isPending}>
            Open
          </button>
          <button type="button" className="btn btn-quiet" disabled={action.isPending} onClick={() => submit('create')()}>
            Create new
          </button>
        </div>
      </form>
    </article>
  );
}

function RecentList() {
  const state = useAppState();
  const navigate = useNavigate();
  const open = useMutation({
    mutationFn: (file: string) => engine['library.open']({ file }),
    onSuccess: (s) => {
      setAppState(s);
      void navigate({ to: '/library' });
    },
  });
  const forget = useMutation({ mutationFn: (file: string) => engine['library.forget']({ file }), onSuccess: setAppState });
  const recent = state.data?.recent ?? [];
  return (
    <section className="card recent" aria-labelledby="recent-title">
      <h2 id="recent-title">Recent libraries</h2>
      <ErrorMessage error={open.error ?? forget.error} />
      {recent.length === 0 ? (
        <p className="muted">No libraries yet. Try the demo, or create a library above.</p>
      ) : (
        <ul className="list">
          {recent.map((r) => (
            <li key={r.file} className="list-row">
              <div className="grow">
                <div>
                  <strong>{r.name}</strong> {!r.exists && <Badge tone="error">File missing</Badge>}
                  {state.data?.library?.file === r.file && <Badge tone="ok">Open</Badge>}
                </div>
                <div className="muted small path" title={r.file}>
                  {r.file} · opened {when(r.openedAt)}
                </div>
              </div>
              <button type="button" className="btn btn-small" disabled={!r.exists || open.isPending} onClick={() => open.mutate(r.file)}>
                Open
              </button>
              <button
                type="button"
                className="btn btn-small btn-quiet"
                aria-label={`Forget ${r.name}`}
                title="Remove from this list (the file stays on disk)"
                onClick={() => forget.mutate(r.file)}
              >
                <X size={14} aria-hidden /> Forget
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
