/**
 * At most one call per `intervalMs`, always ending with the latest value: progress events
 * reach the UI a few times a second, and the final state is never dropped.
 */
export function throttleLatest<T>(fn: (value: T) => void, intervalMs: number): { push(value: T): void; flush(): void } {
  let last = 0;
  let pending: { value: T } | null = null;
  let timer: NodeJS.Timeout | null = null;
  const fire = (): void => {
    timer = null;
    if (!pending) return;
    const { value } = pending;
    pending = null;
    last = Date.now();
    fn(value);
  };
  return {
    push(value) {
      pending = { value };
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) fire();
      else timer ??= setTimeout(fire, wait);
    },
    flush() {
      if (timer) clearTimeout(timer);
      fire();
    },
  };
}
