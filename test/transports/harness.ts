/**
 * One real engine host (a worker thread running the app service) reached by both transports:
 * the IPC adapter (handlers invoked with a fake event, payloads structured-cloned as Electron
 * does) and the HTTP server on 127.0.0.1.
 */
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { expect } from 'vitest';
import type { ApiEvent, ApiResult, IndexStatus } from '../../common/contract/index.js';
import { startEngineThread, type EngineClient } from '../../main/host/engine-client.js';
import { createHttpApp, TOKEN_HEADER } from '../../main/transports/http.js';
import { registerIpcHandlers, type IpcHandleRegistry } from '../../main/transports/ipc.js';
import { runCli } from '../cli/run-cli.js';

export class MemoryIpc implements IpcHandleRegistry {
  readonly handlers = new Map<string, (event: unknown, payload: unknown) => unknown>();
  handle(channel: string, fn: (event: unknown, payload: unknown) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`a second handler for ${channel}`);
    this.handlers.set(channel, fn);
  }
  async invoke(channel: string, payload: unknown, event: unknown = { senderFrame: 'app' }): Promise<unknown> {
    const fn = this.handlers.get(channel);
    if (!fn) throw new Error(`no handler for ${channel}`);
    return structuredClone(await fn(event, structuredClone(payload)));
  }
}

export type Reply = ApiResult<unknown> & { status?: number };

export interface Transports {
  tmp: string;
  engine: EngineClient;
  ipc: MemoryIpc;
  port: number;
  token: string;
  viaIpc(method: string, payload?: unknown): Promise<Reply>;
  viaHttp(method: string, payload?: unknown): Promise<Reply>;
  /** The same call through both; `http` keeps its HTTP status. */
  both(method: string, payload?: unknown): Promise<{ ipc: Reply; http: Reply }>;
  waitForStatus(pred: (s: IndexStatus) => boolean, timeoutMs?: number): Promise<IndexStatus>;
  close(): Promise<void>;
}

export async function startTransports(prefix: string): Promise<Transports> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // The host is a worker thread: it takes this environment as it is when it starts.
  process.env['CLIPSCOPE_DATA_DIR'] = path.join(tmp, 'data');
  const engine = startEngineThread({ settingsFile: path.join(tmp, 'settings.json'), librariesDir: path.join(tmp, 'libraries'), thumbDir: path.join(tmp, 'thumbs') });
  await engine.ready;
  const ipc = new MemoryIpc();
  registerIpcHandlers(ipc, engine, { acceptSender: (e) => (e as { senderFrame: string }).senderFrame === 'app' });
  const token = 'test-token-0123456789abcdef';
  let port = 0;
  const app = createHttpApp({ engine, token, port: () => port, rendererDir: path.join(tmp, 'no-renderer') });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  port = (server.address() as AddressInfo).port;

  const viaIpc = async (method: string, payload?: unknown) => (await ipc.invoke(`api:${method}`, payload)) as Reply;
  const viaHttp = async (method: string, payload?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/${method}`, {
      method: 'POST',
      headers: { [TOKEN_HEADER]: token, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
    return { ...((await res.json()) as ApiResult<unknown>), status: res.status };
  };
  return {
    tmp, engine, ipc, port, token, viaIpc, viaHttp,
    async both(method, payload) {
      return { ipc: await viaIpc(method, payload), http: await viaHttp(method, payload) };
    },
    waitForStatus(pred, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for index.status')), timeoutMs);
        const off = engine.onEvent((event: ApiEvent, payload) => {
          if (event === 'index.status' && pred(payload as IndexStatus)) {
            clearTimeout(timer);
            off();
            resolve(payload as IndexStatus);
          }
        });
      });
    },
    async close() {
      server.close();
      await engine.close();
      await fs.rm(tmp, { recursive: true, force: true });
    },
  };
}

/** The envelope without the HTTP status, to compare the two transports. */
export const envelope = ({ status: _status, ...rest }: Reply): ApiResult<unknown> => rest;

export function valueOf<T>(r: Reply): T {
  if (!r.ok) throw new Error(`call failed: ${r.error.message}`);
  return r.value as T;
}

/** `clipscope ARGS --db DB --json`'s answer (the CLI the API's answers are compared with). */
export async function cliJson(db: string, args: string[]): Promise<unknown> {
  const r = await runCli([...args, '--db', db, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}
