import { describe, expect, it } from 'vitest';
import type { MediaReply } from '../../main/host/protocol.js';
import { mediaProtocolHandler } from '../../main/transports/media-protocol.js';

/** A tiny media source: image 7 exists (a 3-byte "JPEG"), image 8 is unreadable. */
async function media(kind: 'thumb' | 'photo', id: number): Promise<MediaReply> {
  if (id === 7) return { ok: true, bytes: new Uint8Array([0xff, 0xd8, kind === 'thumb' ? 1 : 2]), contentType: 'image/jpeg', etag: `h-${kind}` };
  if (id === 8) return { ok: false, status: 404, message: '/photos/broken.jpg: no thumbnail: truncated' };
  return { ok: false, status: 404, message: `image #${id} is not in the library` };
}

describe('clipscope-media:// handler', () => {
  const handle = mediaProtocolHandler(media);

  it('serves a thumbnail and a photo by image id', async () => {
    const t = await handle(new Request('clipscope-media://thumb/7'));
    expect(t.status).toBe(200);
    expect(t.headers.get('content-type')).toBe('image/jpeg');
    expect(t.headers.get('etag')).toBe('"h-thumb"');
    expect([...new Uint8Array(await t.arrayBuffer())]).toEqual([0xff, 0xd8, 1]);
    const p = await handle(new Request('clipscope-media://photo/7'));
    expect([...new Uint8Array(await p.arrayBuffer())]).toEqual([0xff, 0xd8, 2]);
  });

  it("passes the engine's reason on, and refuses anything but a kind and a positive id", async () => {
    const broken = await handle(new Request('clipscope-media://thumb/8'));
    expect(broken.status).toBe(404);
    expect(await broken.text()).toContain('broken.jpg');
    for (const url of ['clipscope-media://file/7', 'clipscope-media://thumb/-1', 'clipscope-media://thumb/7.5', 'clipscope-media://thumb/..%2Fetc', 'clipscope-media://thumb/etc/passwd']) {
      expect((await handle(new Request(url))).status, url).toBe(404);
    }
  });
});
