// The thumbnail process (started by thumbnail-process.ts): encodes thumbnails at the lowest CPU
// priority, so they take only the cores the indexer leaves idle and never slow encoding down.
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { errorMessage } from '../errors.js';
import { thumbnailFromFile, thumbnailFromRgb } from './thumbnails.js';
import type { ThumbnailReady, ThumbnailReply, ThumbnailRequest } from './thumbnail-process.js';

/**
 * On Linux a nice value belongs to a thread, and new threads inherit their creator's: lowering
 * every thread that exists now (before libuv's and libvips' pools start) covers all later ones.
 * Elsewhere the priority is the process's.
 */
function lowerPriority(): void {
  const low = os.constants.priority.PRIORITY_LOW;
  try {
    if (process.platform === 'linux') for (const tid of readdirSync('/proc/self/task')) os.setPriority(Number(tid), low);
    else os.setPriority(low);
  } catch {
    // Not allowed here (a sandbox): thumbnails still work, at normal priority.
  }
}

lowerPriority();
if (!process.send) throw new Error('thumbnail-child: start it with an IPC channel (thumbnail-process.ts)');
const send = process.send.bind(process);
process.on('message', (m: ThumbnailRequest) => {
  // Pixels at thumbnail size (indexing), or a photo file to read itself (restoring a lost one).
  const job = 'file' in m
    ? thumbnailFromFile(m.file, m.hash, m.dir)
    : thumbnailFromRgb({ data: m.data, width: m.width, height: m.height }, m.hash, m.dir);
  job.then(
    (r) => send({ id: m.id, ...r } satisfies ThumbnailReply),
    (e: unknown) => send({ id: m.id, thumbnail: 'failed', thumbnailError: errorMessage(e) } satisfies ThumbnailReply),
  );
});
// The indexer went away (closed, or crashed): nothing left to do.
process.on('disconnect', () => process.exit(0));
send({ ready: true } satisfies ThumbnailReady);
