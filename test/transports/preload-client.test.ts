import { describe, expect, it, vi } from 'vitest';
import { API_METHODS } from '../../common/contract/index.js';
import { registerIpcHandlers } from '../../main/transports/ipc.js';
import { EngineCallError, createEngineClient } from '../../preload/client.js';
import { MemoryIpc, createTestEngine } from './helpers.js';

describe('createEngineClient', () => {
  it('has one function per contract method, sending on api:<method>', async () => {
    const invoke = vi.fn(async (_channel: string, _payload: unknown) => ({ ok: true, value: 'answer' }));
    const client = createEngineClient(invoke);
    expect(Object.keys(client).sort()).toEqual([...API_METHODS].sort());
    expect(Object.isFrozen(client)).toBe(true);

    await client['models.inspect']({ path: '/m' });
    expect(invoke).toHaveBeenLastCalledWith('api:models.inspect', { path: '/m' });
    await client['engine.info']();
    expect(invoke).toHaveBeenLastCalledWith('api:engine.info', undefined);
  });

  it('unwraps a value and throws an error envelope as EngineCallError with its message and kind', async () => {
    const replies: unknown[] = [
      { ok: true, value: { version: '1', providers: [], platform: 'p' } },
      { ok: false, error: { kind: 'user', message: 'cat.jpg: not an image' } },
      { ok: false, error: { kind: 'internal', message: 'boom' } },
    ];
    const client = createEngineClient(async () => replies.shift());

    await expect(client['engine.info']()).resolves.toEqual({ version: '1', providers: [], platform: 'p' });
    const userError = await client['engine.info']().catch((error: unknown) => error);
    expect(userError).toBeInstanceOf(EngineCallError);
    expect(userError).toMatchObject({ message: 'cat.jpg: not an image', kind: 'user' });
    await expect(client['engine.info']()).rejects.toMatchObject({ message: 'boom', kind: 'internal' });
  });

  it('rejects a reply that is not an envelope', async () => {
    for (const reply of [undefined, null, 'ok', { ok: true }, { ok: false }, { ok: false, error: { message: 'x', kind: 'fatal' } }]) {
      const client = createEngineClient(async () => reply);
      await expect(client['models.inspect']({ path: '/m' })).rejects.toMatchObject({
        message: 'models.inspect: the engine sent a malformed reply',
        kind: 'internal',
      });
    }
  });

  it('round-trips through registerIpcHandlers end to end', async () => {
    const ipc = new MemoryIpc();
    registerIpcHandlers(ipc, createTestEngine());
    const client = createEngineClient((channel, payload) => ipc.invoke(channel, payload));

    await expect(client['engine.info']()).resolves.toMatchObject({ version: '9.8.7' });
    await expect(client['models.inspect']({ path: '/m/sae-f512' })).resolves.toMatchObject({
      kind: 'sae',
      nFeatures: 512,
      architecture: 'standard',
      k: null,
    });
    await expect(client['encode.image']({ file: '/p/a.png', model: 'm', sae: 's', provider: 'webgpu' })).resolves.toMatchObject({
      provider: 'webgpu',
      layer: 11,
      clsTop: [
        { feature: 1, value: 2 },
        { feature: 1, value: 1 },
      ],
    });
    await expect(client['models.inspect']({ path: '/x/missing' })).rejects.toThrow('/x/missing: no such file or directory');
    // A caller that bypasses the types still gets the contract's answer, as a user error.
    await expect(client['models.inspect']({} as { path: string })).rejects.toMatchObject({ kind: 'user' });
  });
});
