/** Small shared pieces: messages, tooltips, copy buttons, empty states. */
import { useEffect, useId, useState, useSyncExternalStore, type FocusEvent, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { Tooltip as RTooltip } from 'radix-ui';
import { Check, Copy, TriangleAlert } from 'lucide-react';
import { errorText } from '../platform.js';

export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="message message-error" role="alert">
      <TriangleAlert size={16} aria-hidden />
      <div>
        {title && <strong>{title} </strong>}
        <span className="error-text">{errorText(error)}</span>
      </div>
    </div>
  );
}

export function Tip({ content, children }: { content: ReactNode; children: ReactNode }) {
  return (
    <RTooltip.Root delayDuration={300}>
      <RTooltip.Trigger asChild>{children}</RTooltip.Trigger>
      <RTooltip.Portal>
        <RTooltip.Content className="tooltip" sideOffset={6} collisionPadding={8}>
          {content}
        </RTooltip.Content>
      </RTooltip.Portal>
    </RTooltip.Root>
  );
}

/** Props a container spreads to show the shared tooltip of its [data-tip] elements. */
export interface SharedTipHandlers {
  onPointerOver(e: PointerEvent): void;
  onPointerLeave(): void;
  onFocus(e: FocusEvent): void;
  onBlur(): void;
  onKeyDown(e: KeyboardEvent): void;
}

interface Shown { text: string; x: number; y: number; below: boolean }

/** The shared tooltip's state, outside React: showing it re-renders the tooltip, not the grid. */
class TipStore {
  shown: Shown | null = null;
  owner: HTMLElement | null = null;
  timer: number | undefined;
  private listeners = new Set<() => void>();
  constructor(readonly id: string) {}
  subscribe = (fn: () => void) => {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  };
  get = () => this.shown;
  private set(v: Shown | null) {
    this.shown = v;
    this.listeners.forEach((fn) => fn());
  }
  hide = () => {
    window.clearTimeout(this.timer);
    this.owner?.removeAttribute('aria-describedby');
    this.owner = null;
    if (this.shown) this.set(null);
  };
  show(target: EventTarget, delay: number) {
    const el = target instanceof Element ? target.closest<HTMLElement>('[data-tip]') : null;
    if (el === this.owner) return;
    this.hide();
    if (!el?.dataset.tip) return;
    this.owner = el;
    this.timer = window.setTimeout(() => {
      if (this.owner !== el || !el.isConnected) return;
      const r = el.getBoundingClientRect();
      const below = r.top < 48;
      el.setAttribute('aria-describedby', this.id);
      this.set({ text: el.dataset.tip!, x: Math.min(Math.max(r.left + r.width / 2, 168), window.innerWidth - 168), y: below ? r.bottom + 6 : r.top - 6, below });
    }, delay);
  }
}

function SharedTipLayer({ store }: { store: TipStore }) {
  const shown = useSyncExternalStore(store.subscribe, store.get);
  useEffect(() => {
    if (!shown) return;
    // A scrolled grid moves (or recycles) the element under the tooltip.
    window.addEventListener('scroll', store.hide, { capture: true, passive: true });
    return () => window.removeEventListener('scroll', store.hide, { capture: true });
  }, [shown, store]);
  useEffect(() => () => store.hide(), [store]);
  if (!shown) return null;
  return createPortal(
    <div id={store.id} role="tooltip" className={`tooltip shared-tip${shown.below ? ' below' : ''}`} style={{ left: shown.x, top: shown.y }}>
      {shown.text}
    </div>,
    document.body,
  );
}

/**
 * One tooltip for all the [data-tip] elements of a container (the tiles of a gallery), looking
 * like Tip's: shown on hover (after the same delay) or keyboard focus, tied to its element by
 * aria-describedby, gone on Escape or scroll. A Tip per tile mounts two Radix components and
 * their listeners on every tile of a grid; this is one element and a few delegated listeners,
 * and showing it re-renders only itself. The container spreads `handlers` and renders `tip`.
 */
export function useSharedTip(): { handlers: SharedTipHandlers; tip: ReactNode } {
  const id = useId();
  const [store] = useState(() => new TipStore(id));
  const [handlers] = useState<SharedTipHandlers>(() => ({
    onPointerOver: (e) => store.show(e.target, 300),
    onPointerLeave: store.hide,
    onFocus: (e) => store.show(e.target, 0),
    onBlur: store.hide,
    onKeyDown: (e) => {
      if (e.key === 'Escape' && store.owner) store.hide();
    },
  }));
  return { handlers, tip: <SharedTipLayer store={store} /> };
}

/** A number with its meaning in a tooltip. */
export function Stat({ label, value, tip }: { label: string; value: ReactNode; tip: ReactNode }) {
  return (
    <Tip content={tip}>
      <div className="stat" tabIndex={0}>
        <span className="stat-value">{value}</span>
        <span className="stat-label">{label}</span>
      </div>
    </Tip>
  );
}

export function CopyButton({ text, label = 'Copy', ariaLabel }: { text: string; label?: string; ariaLabel?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('done');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="btn btn-small btn-quiet" onClick={() => void copy()} aria-label={ariaLabel ?? label}>
      {state === 'done' ? <Check size={14} aria-hidden /> : <Copy size={14} aria-hidden />}
      {state === 'done' ? 'Copied' : state === 'failed' ? 'Select and copy by hand' : label}
    </button>
  );
}

export function EmptyState({ icon, title, children }: { icon?: ReactNode; title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      {icon && <div className="empty-icon" aria-hidden>{icon}</div>}
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Badge({ children, tone = 'neutral', title }: { children: ReactNode; tone?: 'neutral' | 'warn' | 'error' | 'ok'; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}
