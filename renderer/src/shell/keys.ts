/** One keymap: it feeds the handlers and the help sheet. Two-key sequences like `g l`. */
import { useEffect } from 'react';
import { useNavigate } from '@tanstack/react-router';

export const KEYMAP = [
  { keys: 'g l', label: 'Go to the library', to: '/library' },
  { keys: 'g f', label: 'Go to features', to: '/features' },
  { keys: 'g i', label: 'Go to images', to: '/image' },
  { keys: 'g s', label: 'Go to steering', to: '/steer' },
  { keys: 'g q', label: 'Go to the query view', to: '/query' },
  { keys: 'g m', label: 'Go to metrics', to: '/metrics' },
  { keys: 'Ctrl+K', label: 'Jump to a feature, a label or a photo (Cmd+K on a Mac)', to: null },
  { keys: ']', label: 'Next feature (on a feature page; j too)', to: null },
  { keys: '[', label: 'Previous feature (on a feature page; k too)', to: null },
  { keys: '?', label: 'Show this sheet', to: null },
] as const;

function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

export function useKeymap(openHelp: () => void): void {
  const navigate = useNavigate();
  useEffect(() => {
    let pending: string | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target) || document.querySelector('dialog[open]')) return;
      const key = e.key;
      if (pending) {
        const seq = `${pending} ${key}`;
        pending = null;
        clearTimeout(timer);
        const hit = KEYMAP.find((k) => k.keys === seq);
        if (hit?.to) {
          e.preventDefault();
          void navigate({ to: hit.to });
        }
        return;
      }
      if (key === '?') {
        e.preventDefault();
        openHelp();
      } else if (KEYMAP.some((k) => k.keys.startsWith(`${key} `))) {
        pending = key;
        timer = setTimeout(() => (pending = null), 1200);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      clearTimeout(timer);
    };
  }, [navigate, openHelp]);
}
