/** The app frame: navigation rail, top bar with the indexing pill, and the current view. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { BarChart3, FolderOpen, Image as ImageIcon, Keyboard, Layers, ListFilter, SlidersHorizontal, WifiOff } from 'lucide-react';
import { ErrorBoundary } from '../ui/ErrorBoundary.js';
import { ErrorMessage } from '../ui/bits.js';
import { useAppState, useConnection, useEngineEvents } from '../queries.js';
import { IndexPill } from './IndexPill.js';
import { useKeymap, KEYMAP } from './keys.js';
import { Palette } from './Palette.js';
import { transport } from '../platform.js';

const NAV = [
  { to: '/library', label: 'Library', icon: FolderOpen, key: 'g l' },
  { to: '/features', label: 'Features', icon: Layers, key: 'g f' },
  { to: '/image', label: 'Images', icon: ImageIcon, key: 'g i' },
  { to: '/steer', label: 'Steering', icon: SlidersHorizontal, key: 'g s' },
  { to: '/query', label: 'Query', icon: ListFilter, key: 'g q' },
  { to: '/metrics', label: 'Metrics', icon: BarChart3, key: 'g m' },
] as const;

export function Frame() {
  useEngineEvents();
  const state = useAppState();
  const connection = useConnection();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  // The path of the view on screen: the location changes as a navigation starts, the matches when
  // it ends. Keyed by the location, the boundary would remount the old view under the new path.
  const shownPath = useRouterState({ select: (s) => s.matches[s.matches.length - 1]?.pathname ?? s.location.pathname });
  const [help, setHelp] = useState(false);
  const openHelp = useCallback(() => setHelp(true), []);
  useKeymap(openHelp);
  const library = state.data?.library ?? null;
  const section = '/' + (pathname.split('/')[1] ?? '');

  return (
    <div className="frame">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <nav className="rail" aria-label="Main">
        <div className="brand" title="CLIP-Scope">
          <span className="brand-mark" aria-hidden>CS</span>
        </div>
        {NAV.map(({ to, label, icon: Icon, key }) => {
          const active = section === to || (to === '/features' && section === '/feature');
          return (
            <Link key={to} to={to} className={`rail-item${active ? ' active' : ''}`} aria-current={active ? 'page' : undefined} title={`${label} (${key})`}>
              <Icon size={20} aria-hidden />
              <span>{label}</span>
            </Link>
          );
        })}
        <Palette />
        <div className="rail-spacer" />
        <button type="button" className="rail-item" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
          <Keyboard size={20} aria-hidden />
          <span>Keys</span>
        </button>
      </nav>
      <div className="frame-main">
        <header className="topbar">
          <div className="topbar-title">
            {library ? (
              <>
                <span className="lib-name" title={library.file}>{library.name}</span>
                {library.demo && (
                  <span className="badge badge-warn" title="The demo model has random weights: its features mean nothing.">
                    Demo · random weights
                  </span>
                )}
              </>
            ) : (
              <span className="lib-name muted">No library open</span>
            )}
          </div>
          <div className="topbar-right">
            {connection === 'reconnecting' && (
              <span className="badge badge-error" role="status">
                <WifiOff size={14} aria-hidden /> Reconnecting to the engine…
              </span>
            )}
            {library && <IndexPill />}
            {transport === 'http' && <span className="muted small" title="The app is served by `clipscope serve`">Web mode</span>}
          </div>
        </header>
        <main id="main" className="view" tabIndex={-1}>
          {state.error ? (
            <div className="view-pad">
              <ErrorMessage error={state.error} title="The engine did not answer." />
            </div>
          ) : (
            <ErrorBoundary key={shownPath} where={viewName(section)}>
              <Outlet />
            </ErrorBoundary>
          )}
        </main>
      </div>
      <HelpSheet open={help} onClose={() => setHelp(false)} />
    </div>
  );
}

function viewName(section: string): string {
  const item = NAV.find((n) => n.to === section);
  return item ? `The ${item.label} view` : 'This view';
}

function HelpSheet({ open, onClose }: { open: boolean; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" onClose={onClose} aria-labelledby="help-title">
      <h2 id="help-title">Keyboard shortcuts</h2>
      <table className="keys-table">
        <tbody>
          {KEYMAP.map((k) => (
            <tr key={k.keys}>
              <td>
                {k.keys.split(' ').map((part, i) => (
                  <kbd key={i}>{part}</kbd>
                ))}
              </td>
              <td>{k.label}</td>
            </tr>
          ))}
          <tr>
            <td><kbd>Tab</kbd></td>
            <td>Move between controls</td>
          </tr>
          <tr>
            <td><kbd>Esc</kbd></td>
            <td>Close this sheet or a dialog</td>
          </tr>
        </tbody>
      </table>
      <div className="row row-end">
        <button type="button" className="btn" onClick={onClose} autoFocus>
          Close
        </button>
      </div>
    </dialog>
  );
}

export function NotFound() {
  return (
    <div className="view-pad">
      <h2>Nothing here</h2>
      <p>This address does not match a view of the app.</p>
      <Link to="/library" className="btn">Go to the library</Link>
    </div>
  );
}

/** Views that read the open library say what to do when there is none. */
export function RequireLibrary({ children }: { children: ReactNode }) {
  const state = useAppState();
  const navigate = useNavigate();
  if (!state.data) return null;
  if (!state.data.library) {
    return (
      <div className="view-pad">
        <div className="empty">
          <h3>No library is open</h3>
          <p>Open or create a library, or try the offline demo, to see your photos here.</p>
          <button type="button" className="btn btn-primary" onClick={() => void navigate({ to: '/setup' })}>
            Open a library
          </button>
        </div>
      </div>
    );
  }
  return <>{children}</>;
}
