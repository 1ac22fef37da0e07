/**
 * `clipscope serve`: the app in a browser. Starts the engine host (a worker thread), listens on
 * 127.0.0.1 only and prints `Listening on http://127.0.0.1:P/?token=T` as its first line.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { startEngineThread, type EngineClient } from '../host/engine-client.js';
import type { HostOptions } from '../host/protocol.js';
import { UserFacingError } from '../engine/errors.js';
import { createHttpApp } from './http.js';

export interface WebServer {
  url: string;
  port: number;
  token: string;
  engine: EngineClient;
  close(): Promise<void>;
}

export interface WebServerOptions extends HostOptions {
  port?: number;
  rendererDir: string;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = randomBytes(24).toString('base64url');
  const { port: wanted, rendererDir, ...hostOptions } = opts;
  const engine = startEngineThread(hostOptions);
  await engine.ready;
  let port = 0;
  const app = createHttpApp({ engine, token, port: () => port, rendererDir });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: wanted ?? 0 }, () => resolve(s));
    s.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  if (hostOptions.library) {
    const r = await engine.call('library.open', { file: hostOptions.library });
    if (!r.ok) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
      throw new UserFacingError(r.error.message);
    }
  }
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    engine,
    async close() {
      // Event streams stay open forever: drop them, then let jobs pause after their batch.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.close();
    },
  };
}
