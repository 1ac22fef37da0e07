/**
 * torch.save zip archives (PyTorch >= 1.6: CLIP-Scope SAE .pt files, transformers'
 * pytorch_model.bin): `<prefix>/data.pkl` (pickle protocol 2) plus one STORED entry per storage,
 * `<prefix>/data/<key>`. The prefix is the file's stem in torch 1.x ("1200013184/") and
 * "archive/" in torch 2.x, so it is discovered, never assumed.
 *
 * Only the central directory, data.pkl and the local headers of referenced storages are read:
 * tensors come back as FileTensor descriptors (absolute offset, torch's strides) pointing into
 * the archive, so a 500 MB checkpoint costs a few KB of memory.
 */
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { ModelFileError } from '../errors.js';
import { openModelFile, readFully } from './file-io.js';
import { formatBytes } from './format-size.js';
import { unpickle } from './pickle.js';
import { isFileTensor, type FileTensor } from './tensor.js';
import { torchGlobals, type StorageRef, type TensorFactory } from './torch-globals.js';

const MAX_PICKLE_BYTES = 1024 * 1024 * 1024;

/**
 * Reads a torch.save checkpoint. Returns its top-level object as plain JS (see pickle.ts), with
 * every tensor a FileTensor into `path`.
 */
export async function readTorchCheckpoint(path: string): Promise<unknown> {
  const file = resolve(path);
  const fail = (reason: string): never => {
    throw new ModelFileError(path, reason);
  };
  await checkMagic(file, path);

  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(file, { autoClose: false });
  } catch (err) {
    return fail(`the zip archive is corrupt or truncated (${zipReason(err)})`);
  }
  try {
    const entries = new Map<string, Entry>();
    try {
      for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
    } catch (err) {
      fail(`the zip archive is corrupt or truncated (${zipReason(err)})`);
    }

    const records = [...entries.keys()].filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (records.length === 0) fail('not a PyTorch checkpoint (no data.pkl in the zip archive)');
    if (records.length > 1) fail(`the zip archive holds several checkpoints (${records.join(', ')}); expected one data.pkl`);
    const pklName = records[0]!;
    const prefix = pklName.slice(0, -'data.pkl'.length);

    const byteorder = entries.get(`${prefix}byteorder`);
    if (byteorder && (await readEntry(zip, byteorder, path)).toString('latin1').trim() === 'big') {
      fail('the checkpoint was saved on a big-endian machine, which is not supported');
    }

    const pklEntry = entries.get(pklName)!;
    const pkl = await readEntry(zip, pklEntry, path);
    // yauzl does not verify CRCs. data.pkl is small and decides how every byte is interpreted, so
    // it is checked (storages are not: that would mean reading the whole 500 MB file).
    if (crc32(pkl) !== pklEntry.crc32) fail(`the zip archive is corrupt (${pklName} fails its CRC check)`);

    // Tensors are created while unpickling with offsets relative to their storage; the local
    // headers (which give each storage's real data offset) are read afterwards, once, for the
    // storages actually referenced, and the offsets patched before anything is returned.
    const pending: { tensor: { offset: number }; storage: StorageRef }[] = [];
    const storages = new Map<string, StorageRef>();
    const makeTensor: TensorFactory = (storage, fields) => {
      const tensor = { ...fields, file };
      pending.push({ tensor, storage });
      return tensor;
    };
    const lookupStorage = (key: string): StorageRef => {
      let ref = storages.get(key);
      if (!ref) {
        const entry = entries.get(`${prefix}data/${key}`);
        if (!entry) return fail(`storage data/${key} referenced by data.pkl is missing from the zip archive`);
        if (entry.compressionMethod !== 0) {
          fail(`storage data/${key} is compressed in the zip archive (torch writes storages uncompressed; the file was re-zipped): re-save it with torch.save`);
        }
        ref = { key, entry, nbytes: entry.uncompressedSize, dataStart: -1 };
        storages.set(key, ref);
      }
      return ref;
    };

    const value = unpickle(pkl, {
      file: path,
      entry: pklName,
      ...torchGlobals(path, lookupStorage, makeTensor),
    });

    await Promise.all([...storages.values()].map(async (ref) => {
      try {
        ref.dataStart = (await zip.readLocalFileHeaderPromise(ref.entry, { minimal: true })).fileDataStart;
      } catch (err) {
        fail(`the zip archive is corrupt or truncated (storage data/${ref.key}: ${zipReason(err)})`);
      }
    }));
    for (const { tensor, storage } of pending) {
      tensor.offset += storage.dataStart;
      Object.freeze(tensor);
    }
    return value;
  } finally {
    zip.close();
  }
}

/**
 * Every tensor in a checkpoint value, keyed by its dotted path ("model_state_dict.enc",
 * "0.weight"), in insertion order. Lists contribute their index as a path segment.
 */
export function collectTensors(value: unknown, prefix = ''): Map<string, FileTensor> {
  const out = new Map<string, FileTensor>();
  const seen = new Set<unknown>();
  const visit = (v: unknown, name: string): void => {
    if (isFileTensor(v)) {
      out.set(name, v);
      return;
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    const join = (k: unknown) => (name ? `${name}.${String(k)}` : String(k));
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, join(i)));
    else if (v instanceof Map) for (const [k, x] of v) visit(x, join(k));
    else if (Object.getPrototypeOf(v) === Object.prototype) for (const [k, x] of Object.entries(v)) visit(x, join(k));
  };
  visit(value, prefix);
  return out;
}

/** Recognise the usual wrong files before handing the file to the zip reader. */
async function checkMagic(file: string, displayName: string): Promise<void> {
  const handle = await openModelFile(file, displayName);
  try {
    const size = (await handle.stat()).size;
    if (size === 0) throw new ModelFileError(displayName, 'not a PyTorch checkpoint (the file is empty)');
    const head = new Uint8Array(Math.min(size, 4));
    await readFully(handle, head, 0, displayName, 'the file signature');
    const isZip = head[0] === 0x50 && head[1] === 0x4b; // "PK"
    if (isZip) return;
    // The legacy (torch < 1.6 or _use_new_zipfile_serialization=False) format starts with the
    // pickled magic number 0x1950a86a20f9469cfc6c: PROTO 2, LONG1 of 10 bytes.
    if (head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a) {
      throw new ModelFileError(displayName, 'this is the legacy PyTorch checkpoint format (saved by torch < 1.6 or with _use_new_zipfile_serialization=False); re-save it with a current torch.save');
    }
    throw new ModelFileError(displayName, 'not a PyTorch checkpoint (not a zip archive)');
  } finally {
    await handle.close();
  }
}

async function readEntry(zip: ZipFile, entry: Entry, displayName: string): Promise<Buffer> {
  if (entry.uncompressedSize > MAX_PICKLE_BYTES) {
    throw new ModelFileError(displayName, `${entry.fileName} is ${formatBytes(entry.uncompressedSize)}, too large to be a checkpoint's object pickle`);
  }
  try {
    const stream = await zip.openReadStreamPromise(entry);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (err) {
    throw new ModelFileError(displayName, `the zip archive is corrupt or truncated (${entry.fileName}: ${zipReason(err)})`);
  }
}

/** yauzl's messages, shortened to a clause that fits inside our one-sentence errors. */
function zipReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/end of central directory record signature not found/i.test(message)) return 'no end-of-archive record: the file was probably cut short';
  return message.replace(/\.\s*$/, '').replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase());
}
