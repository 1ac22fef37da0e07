/**
 * Photos for Electron's page: `clipscope-media://thumb/<imageId>` and
 * `clipscope-media://photo/<imageId>`, served by the engine host. A `Request -> Response`
 * function, as `protocol.handle` wants, so it is tested without Electron.
 */
import type { MediaReply } from '../host/protocol.js';

export const MEDIA_SCHEME = 'clipscope-media';

export function mediaProtocolHandler(media: (kind: 'thumb' | 'photo', imageId: number) => Promise<MediaReply>): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    const kind = url.hostname;
    const id = Number(url.pathname.replace(/^\//, ''));
    if (url.protocol !== `${MEDIA_SCHEME}:` || (kind !== 'thumb' && kind !== 'photo') || !Number.isInteger(id) || id <= 0) {
      return new Response('no such media', { status: 404 });
    }
    const m = await media(kind, id);
    if (!m.ok) return new Response(m.message, { status: m.status });
    return new Response(m.bytes as Uint8Array<ArrayBuffer>, {
      status: 200,
      headers: { 'Content-Type': m.contentType, ETag: `"${m.etag}"`, 'Cache-Control': 'private, max-age=3600' },
    });
  };
}
