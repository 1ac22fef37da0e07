/**
 * The engine host in an Electron utility process (its own Node process: SQLite, indexing and
 * queries never block the window), behind the same EngineClient the web mode uses.
 */
import { app, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineClient } from '../host/engine-client.js';
import type { FromHost, HostOptions } from '../host/protocol.js';

export function startEngineProcess(options: HostOptions): EngineClient {
  // Built beside out/main/index.js (electron.vite.config.ts, ENGINE_ENTRIES).
  const script = fileURLToPath(new URL('./engine-host.js', import.meta.url));
  const child = utilityProcess.fork(script, [], {
    serviceName: 'CLIP-Scope engine',
    stdio: 'inherit',
    // Not ELECTRON_RUN_AS_NODE here: it would turn this utility process into plain Node (the
    // indexer sets it for its own thumbnail child, thumbnail-process.ts).
    env: {
      ...process.env,
      CLIPSCOPE_HOST_OPTIONS: JSON.stringify(options),
      // Installed apps carry the demo beside the archive (package.json build.extraResources).
      ...(app.isPackaged ? { CLIPSCOPE_DEMO_DIR: path.join(process.resourcesPath, 'demo') } : {}),
    },
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
