/**
 * The engine host in an Electron utility process (its own Node process: SQLite, indexing and
 * queries never block the window), behind the same EngineClient the web mode uses.
 */
import { utilityProcess } from 'electron';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../host/engine-client.js';
import type { FromHost, HostOptions } from '../host/protocol.js';

export function startEngineProcess(options: HostOptions): EngineClient {
  // Built beside out/main/index.js (electron.vite.config.ts, ENGINE_ENTRIES).
  const script = fileURLToPath(new URL('./engine-host.js', import.meta.url));
  const child = utilityProcess.fork(script, [], {
    serviceName: 'CLIP-Scope engine',
    stdio: 'inherit',
    // The indexer forks its thumbnail process with process.execPath: Electron, run as Node.
    env: { ...process.env, CLIPSCOPE_HOST_OPTIONS: JSON.stringify(options), ELECTRON_RUN_AS_NODE: '1' },
  });
  let stopping = false;
  let exitFn: ((reason: string) => void) | null = null;
  child.on('exit', (code) => {
    if (!stopping) exitFn?.(`exit code ${code}`);
  });
  return new EngineClient({
    post: (m) => child.postMessage(m),
    onMessage: (fn) => child.on('message', (m: FromHost) => fn(m)),
    onExit: (fn) => (exitFn = fn),
    terminate: async () => {
      stopping = true;
      child.kill();
    },
  });
}
