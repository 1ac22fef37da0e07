import { describe, expect, it, vi } from 'vitest';
import { API_METHODS, type ApiResult } from '../../common/contract/index.js';
import { registerIpcHandlers } from '../../main/transports/ipc.js';
import { MemoryIpc, createTestEngine } from './helpers.js';

function setup(options?: Parameters<typeof registerIpcHandlers>[2]) {
  const ipc = new MemoryIpc();
  const api = createTestEngine();
  registerIpcHandlers(ipc, api, options);
  return { ipc, api };
}

describe('registerIpcHandlers', () => {
  it('registers one channel per contract method, and nothing else', () => {
    const { ipc } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => `api:${m}`).sort());
  });

  it('round-trips engine.info', async () => {
    const { ipc } = setup();
    const reply = await ipc.invoke('api:engine.info', undefined);
    expect(reply).toEqual({
      ok: true,
      value: {
        version: '9.8.7',
        platform: `${process.platform}-${process.arch}`,
        providers: [
          { name: 'cpu', available: true },
          { name: 'cuda', available: false, reason: 'CUDA libraries are not installed' },
        ],
      },
    });
  });

  it('round-trips models.inspect for both kinds', async () => {
    const { ipc } = setup();
    expect(await ipc.invoke('api:models.inspect', { path: '/models/ViT-B-16' })).toMatchObject({
      ok: true,
      value: { kind: 'vision', path: '/models/ViT-B-16', patchSize: 16, tokens: 197 },
    });
    expect(await ipc.invoke('api:models.inspect', { path: '/m/sae-f4096-k32' })).toEqual({
      ok: true,
      value: {
        kind: 'sae',
        path: '/m/sae-f4096-k32',
        format: 'clipscope',
        architecture: 'topk',
        dIn: 768,
        nFeatures: 4096,
        k: 32,
        layer: null,
      },
    });
  });

  it('round-trips encode.image and strips fields the contract does not name', async () => {
    const { ipc } = setup();
    const reply = await ipc.invoke('api:encode.image', { file: '/p/cat.jpg', model: '/m/clip', sae: '/s/x.pt', layer: 5 });
    expect(reply).toEqual({
      ok: true,
      value: {
        file: '/p/cat.jpg',
        layer: 5,
        provider: 'cpu',
        tokens: 197,
        clsTop: [
          { feature: '/m/clip'.length, value: 2 },
          { feature: '/s/x.pt'.length, value: 1 },
        ],
        mse: 1 / 11,
        ev: 1 - 1 / 11,
      },
    });
  });

  it('answers invalid input with a user error naming the method and field, without calling the engine', async () => {
    const ipc = new MemoryIpc();
    const api = createTestEngine();
    const inspect = vi.spyOn(api, 'models.inspect');
    registerIpcHandlers(ipc, api);

    const reply = (await ipc.invoke('api:models.inspect', { path: 7 })) as ApiResult<unknown>;
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.kind).toBe('user');
    expect(reply.error.message).toMatch(/^models\.inspect: invalid request: path: /);
    expect(inspect).not.toHaveBeenCalled();

    const badLayer = (await ipc.invoke('api:encode.image', { file: 'a', model: 'b', sae: 'c', layer: -2 })) as ApiResult<unknown>;
    expect(badLayer).toMatchObject({ ok: false, error: { kind: 'user', message: expect.stringContaining('layer') } });

    expect(await ipc.invoke('api:engine.info', { unexpected: true })).toMatchObject({ ok: false, error: { kind: 'user' } });
  });

  it('passes a UserFacingError message through as a user error', async () => {
    const { ipc } = setup();
    expect(await ipc.invoke('api:models.inspect', { path: '/models/missing' })).toEqual({
      ok: false,
      error: { kind: 'user', message: '/models/missing: no such file or directory' },
    });
    expect(await ipc.invoke('api:encode.image', { file: 'notes.txt', model: 'm', sae: 's' })).toEqual({
      ok: false,
      error: { kind: 'user', message: 'notes.txt: not an image' },
    });
  });

  it('maps any other error to an internal error and reports it', async () => {
    const onInternalError = vi.fn();
    const { ipc } = setup({ onInternalError });
    expect(await ipc.invoke('api:models.inspect', { path: '/crash' })).toEqual({
      ok: false,
      error: { kind: 'internal', message: 'cannot read properties of undefined (/crash)' },
    });
    expect(onInternalError).toHaveBeenCalledWith('models.inspect', expect.any(TypeError));
  });

  it('maps a result that breaks the contract to an internal error', async () => {
    const onInternalError = vi.fn();
    const { ipc } = setup({ onInternalError });
    const reply = (await ipc.invoke('api:models.inspect', { path: '/garbage' })) as ApiResult<unknown>;
    expect(reply).toMatchObject({ ok: false, error: { kind: 'internal' } });
    if (!reply.ok) expect(reply.error.message).toMatch(/^models\.inspect: the engine returned an invalid result: /);
    expect(onInternalError).toHaveBeenCalledTimes(1);
  });

  it('refuses senders that acceptSender rejects, without calling the engine', async () => {
    const ipc = new MemoryIpc();
    const api = createTestEngine();
    const info = vi.spyOn(api, 'engine.info');
    registerIpcHandlers(ipc, api, { acceptSender: (event) => (event as { sender: string }).sender === 'app' });

    expect(await ipc.invoke('api:engine.info', undefined, { sender: 'app' })).toMatchObject({ ok: true });
    expect(await ipc.invoke('api:engine.info', undefined, { sender: 'https://evil.example' })).toMatchObject({
      ok: false,
      error: { kind: 'internal' },
    });
    expect(info).toHaveBeenCalledTimes(1);
  });
});
