/** Positional reads that turn I/O failures into ModelFileError sentences naming the file. */
import { open, type FileHandle } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import { formatBytes } from './format-size.js';

/** "the file does not exist", "permission denied" ... for the usual open() failures. */
export function describeOpenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'the file does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'the file cannot be read (permission denied)';
  if (code === 'EISDIR') return 'expected a file but found a directory';
  return `the file cannot be opened (${(err as Error).message})`;
}

export async function openModelFile(path: string, displayName: string = path): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw new ModelFileError(displayName, describeOpenError(err));
  }
}

// fs reads are limited to 2 GiB per call; 256 MiB chunks also keep a single syscall short.
const CHUNK = 256 * 1024 * 1024;

/**
 * Fills `target` from `position`. A short read means the file ends early: `what` names the data
 * ("the tensor data", "the header") in the truncation message.
 */
export async function readFully(handle: FileHandle, target: Uint8Array, position: number, displayName: string, what: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const want = Math.min(CHUNK, target.length - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, done, want, position + done));
    } catch (err) {
      throw new ModelFileError(displayName, `reading the file failed (${(err as Error).message})`);
    }
    if (bytesRead === 0) {
      throw new ModelFileError(displayName, `truncated: ${what} needs bytes ${position.toLocaleString('en-US')} to ${(position + target.length).toLocaleString('en-US')} but the file ends after ${formatBytes(position + done)}`);
    }
    done += bytesRead;
  }
}
