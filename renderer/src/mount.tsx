/**
 * The second of the page's three startup scripts (main.tsx): React's DOM renderer, whose module
 * alone takes ~40 ms to run, then the app (App.tsx), loaded as a third script so that its own
 * ~35 ms run in another task.
 */
import { startTransition } from 'react';
import { createRoot } from 'react-dom/client';

export async function mount(): Promise<void> {
  const el = document.getElementById('root');
  if (!el) throw new Error('index.html has no #root element');
  const { App, loadFirstRoute } = await import('./App.js');
  // The first view's route resolved before React renders, so its first render is that view, not
  // an empty frame and a second pass once the router has loaded.
  await loadFirstRoute();
  const root = createRoot(el);
  // A transition: React renders the first screen in slices, not in one long task.
  startTransition(() => root.render(<App />));
}
