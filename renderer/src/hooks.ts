import { useCallback, useRef, useState } from 'react';
import { errorText } from './api.js';

export type CallState<T> =
  | { status: 'idle' }
  | { status: 'running' }
  | { status: 'done'; value: T }
  | { status: 'failed'; message: string };

/**
 * Runs an engine call and tracks its state. A newer run supersedes an older one still in
 * flight: only the latest call's answer is shown.
 */
export function useEngineCall<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const [state, setState] = useState<CallState<T>>({ status: 'idle' });
  const latest = useRef(0);
  const run = useCallback(
    async (...args: A) => {
      const id = ++latest.current;
      setState({ status: 'running' });
      try {
        const value = await fn(...args);
        if (id === latest.current) setState({ status: 'done', value });
      } catch (error) {
        if (id === latest.current) setState({ status: 'failed', message: errorText(error) });
      }
    },
    [fn],
  );
  return [state, run] as const;
}

/** A text field's value, remembered across restarts (paths are long to type twice). */
export function useRememberedText(key: string): [string, (value: string) => void] {
  const storageKey = `clipscope:${key}`;
  const [value, setValue] = useState(() => readStorage(storageKey));
  const update = useCallback(
    (next: string) => {
      setValue(next);
      writeStorage(storageKey, next);
    },
    [storageKey],
  );
  return [value, update];
}

function readStorage(key: string): string {
  try {
    return window.localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

function writeStorage(key: string, value: string): void {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // Storage can be unavailable (private mode, quota); remembering is only a convenience.
  }
}
