/**
 * The page's first script, kept small so it runs as soon as it arrives: it asks the engine for
 * the first screen's data (startup.ts), then loads the rest of the app. A module and its static
 * imports run in one task, and a dynamic import's module in a task of its own, so the app starts
 * in three tasks, none long: this one, React's DOM renderer (mount.tsx, ~40 ms on a 2-core
 * machine) and the app's routes and views (App.tsx). index.html preloads the other two scripts
 * (electron.vite.config.ts), so the chain waits on no round trip.
 */
import './drop-token-query.js';
import { startStartupCalls } from './startup.js';
import './styles.css';

startStartupCalls();
import('./mount.js')
  .then((m) => m.mount())
  .catch((error: unknown) => {
    // Nothing of the app runs to say it: a script missing (a build replaced under an open page).
    const root = document.getElementById('root');
    if (root) root.textContent = `CLIP-Scope could not start: ${error instanceof Error ? error.message : String(error)}. Reload the page.`;
    throw error;
  });

// The first Intl formatter of a page loads ICU's locale data (~20 ms here); the app's formats
// (ui/format.ts) would pay it inside its views' module. Done here, in a task of its own, it
// mostly fills the wait for the other two scripts to arrive.
setTimeout(() => {
  new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }).format(1);
  new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(0);
});
