import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTorchCheckpoint, collectTensors } from '../../../main/engine/formats/torch-checkpoint.js';
import { readFloat32 } from '../../../main/engine/formats/tensor-read.js';
import { isContiguous, type FileTensor } from '../../../main/engine/formats/tensor.js';
import { buildZip, expectModelFileError, expectValue, fixture, manifest, readZipEntries, tempDir, writeBytes, type ZipEntry } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

type Dict = Record<string, unknown>;

describe('readTorchCheckpoint: values match what torch saved', () => {
  for (const [name, exp] of Object.entries(manifest.checkpoints)) {
    it(`${name} (record prefix "${exp.prefix}")`, async () => {
      const value = await readTorchCheckpoint(fixture(name));
      await expectValue(value, exp.value, name);
    });
  }
});

describe('readTorchCheckpoint: layout', () => {
  it('keeps the strides torch recorded for a transposed clone (CLIP-Scope dec)', async () => {
    const root = (await readTorchCheckpoint(fixture('1200013184.pt'))) as Dict;
    const sd = root['model_state_dict'] as Record<string, FileTensor>;
    expect(sd['dec']!.strides).toEqual([1, 16]);
    expect(isContiguous(sd['dec']!)).toBe(false);
    expect(isContiguous(sd['enc']!)).toBe(true);
    // dec started as enc.t().clone(): before the in-place update, dec[f][d] was enc[d][f].
    const enc = await readFloat32(sd['enc']!);
    const dec = await readFloat32(sd['dec']!);
    for (let f = 0; f < 16; f++) {
      for (let d = 0; d < 8; d++) expect(dec[f * 8 + d]).toBe(Math.fround(enc[d * 16 + f]! * 0.5 + (f * 8 + d) / 64));
    }
  });

  it('applies storage offsets of views that share a storage', async () => {
    const v = (await readTorchCheckpoint(fixture('views.pt'))) as Record<string, FileTensor>;
    const big = v['big']!;
    expect(v['rows']!.offset - big.offset).toBe(18 * 4);
    expect(v['column']!.offset - big.offset).toBe(2 * 4);
    expect(v['stepped']!.offset - big.offset).toBe(7 * 4);
    expect(v['rows']!.available).toBe(big.available - 18 * 4);
    for (const t of Object.values(v)) if ((t as FileTensor).file) expect((t as FileTensor).file).toBe(fixture('views.pt'));
  });

  it('points offsets at the real data (torch aligns storages to 64 bytes via the LOCAL header extra field)', async () => {
    for (const name of ['1200013184.pt', 'renamed.pt', 'views.pt']) {
      const tensors = collectTensors(await readTorchCheckpoint(fixture(name)));
      const bytes = readFileSync(fixture(name));
      const enc = tensors.get('model_state_dict.enc') ?? tensors.get('big')!;
      expect(enc.offset % 64, name).toBe(0);
      const first = bytes.readFloatLE(enc.offset);
      expect((await readFloat32(enc))[0]).toBe(first);
    }
  });

  it('reads a transformers pytorch_model.bin state_dict (OrderedDict with _metadata)', async () => {
    const sd = await readTorchCheckpoint(fixture('pytorch_model.bin'));
    expect(Object.keys(sd as Dict)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    const tensors = collectTensors(sd);
    expect([...tensors.keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(tensors.get('0.weight')!.shape).toEqual([2, 3]);
  });

  it('collectTensors names nested tensors by dotted path', async () => {
    const tensors = collectTensors(await readTorchCheckpoint(fixture('1200013184.pt')));
    expect([...tensors.keys()]).toEqual(['model_state_dict.pre_b', 'model_state_dict.enc', 'model_state_dict.dec', 'dead_latents']);
  });
});

describe('readTorchCheckpoint: unusable files give a ModelFileError naming the file', () => {
  const source = fixture('1200013184.pt');
  const bytes = readFileSync(source);

  it.each([0, 1, 3, 4, 30, 100, 700, Math.floor(bytes.length / 2), bytes.length - 23, bytes.length - 1])('file cut to %i bytes', async (n) => {
    const path = writeBytes(tmp.path(`cut-${n}.pt`), bytes.subarray(0, n));
    await expectModelFileError(readTorchCheckpoint(path), path, n === 0 ? /empty/ : /corrupt or truncated|not a zip|not a PyTorch/);
  });

  it('a flipped byte inside data.pkl (CRC check)', async () => {
    const copy = Buffer.from(bytes);
    const at = copy.indexOf('22_resid-3a4511bd');
    copy[at] = 0x33; // "32_resid...": still a valid pickle, so only the CRC can tell
    const path = writeBytes(tmp.path('flipped.pt'), copy);
    await expectModelFileError(readTorchCheckpoint(path), path, /corrupt \(1200013184\/data\.pkl fails its CRC check\)/);
  });

  it('a missing file', async () => {
    const path = tmp.path('does-not-exist.pt');
    await expectModelFileError(readTorchCheckpoint(path), path, /does not exist/);
  });

  it('random garbage, and garbage after a zip signature', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251));
    const a = writeBytes(tmp.path('garbage.pt'), garbage);
    await expectModelFileError(readTorchCheckpoint(a), a, /not a PyTorch checkpoint \(not a zip archive\)/);
    const b = writeBytes(tmp.path('garbage-pk.pt'), Buffer.concat([Buffer.from('PK\x03\x04'), garbage]));
    await expectModelFileError(readTorchCheckpoint(b), b, /the zip archive is corrupt or truncated/);
  });

  it('a safetensors file passed as a checkpoint', async () => {
    const path = fixture('weights.safetensors');
    await expectModelFileError(readTorchCheckpoint(path), path, /not a PyTorch checkpoint/);
  });

  it('the legacy (pre-zip) torch format', async () => {
    const legacy = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    const path = writeBytes(tmp.path('legacy.pt'), legacy);
    await expectModelFileError(readTorchCheckpoint(path), path, /legacy PyTorch checkpoint format/);
  });

  describe('re-packed archives', () => {
    let entries: ZipEntry[] = [];
    let pkl: ZipEntry;
    beforeAll(async () => {
      entries = await readZipEntries(source);
      pkl = entries.find((e) => e.name.endsWith('data.pkl'))!;
    });
    const repack = (name: string, list: ZipEntry[]) => writeBytes(tmp.path(name), buildZip(list));

    it('still reads when re-zipped without alignment padding', async () => {
      const path = repack('plain-zip.pt', entries);
      const root = (await readTorchCheckpoint(path)) as Dict;
      const dec = (root['model_state_dict'] as Record<string, FileTensor>)['dec']!;
      const original = (((await readTorchCheckpoint(source)) as Dict)['model_state_dict'] as Record<string, FileTensor>)['dec']!;
      expect(await readFloat32(dec)).toEqual(await readFloat32(original));
    });

    it('a zip with no data.pkl', async () => {
      const path = repack('no-pkl.pt', entries.filter((e) => e !== pkl));
      await expectModelFileError(readTorchCheckpoint(path), path, /not a PyTorch checkpoint \(no data\.pkl in the zip archive\)/);
    });

    it('a compressed storage entry', async () => {
      const path = repack('deflated.pt', entries.map((e) => (e.name.endsWith('/data/1') ? { ...e, method: 8 as const } : e)));
      await expectModelFileError(readTorchCheckpoint(path), path, /storage data\/1 is compressed/);
    });

    it('a compressed data.pkl is fine', async () => {
      const path = repack('deflated-pkl.pt', entries.map((e) => (e === pkl ? { ...e, method: 8 as const } : e)));
      expect(((await readTorchCheckpoint(path)) as Dict)['k']).toBe(4);
    });

    it('a storage entry missing', async () => {
      const path = repack('missing-storage.pt', entries.filter((e) => !e.name.endsWith('/data/2')));
      await expectModelFileError(readTorchCheckpoint(path), path, /storage data\/2 referenced by data\.pkl is missing/);
    });

    it('a storage entry shorter than the tensor', async () => {
      const path = repack('short-storage.pt', entries.map((e) => (e.name.endsWith('/data/1') ? { ...e, data: e.data.subarray(0, 100) } : e)));
      await expectModelFileError(readTorchCheckpoint(path), path, /truncated: storage data\/1 holds 100 bytes/);
    });

    it('data.pkl cut short', async () => {
      const path = repack('short-pkl.pt', entries.map((e) => (e === pkl ? { ...e, data: e.data.subarray(0, 200) } : e)));
      await expectModelFileError(readTorchCheckpoint(path), path, /data\.pkl is truncated/);
    });

    it('two checkpoints in one zip', async () => {
      const path = repack('two.pt', [...entries, { name: 'other/data.pkl', data: pkl.data }]);
      await expectModelFileError(readTorchCheckpoint(path), path, /several checkpoints/);
    });

    it('a big-endian checkpoint', async () => {
      const prefix = pkl.name.slice(0, -'data.pkl'.length);
      const path = repack('big-endian.pt', [...entries, { name: `${prefix}byteorder`, data: Buffer.from('big') }]);
      await expectModelFileError(readTorchCheckpoint(path), path, /big-endian/);
    });

    it.each([
      ['os', 'system'], ['posix', 'system'], ['builtins', 'eval'], ['__builtin__', 'getattr'], ['subprocess', 'Popen'], ['torch', 'load'],
    ])('a pickle calling the forbidden global %s.%s (GLOBAL and STACK_GLOBAL)', async (module, name) => {
      const viaGlobal = Buffer.concat([Buffer.from(`\x80\x02c${module}\n${name}\nX\x02\x00\x00\x00ls\x85R.`, 'latin1')]);
      const short = (s: string) => Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s)]);
      const viaStack = Buffer.concat([Buffer.from([0x80, 0x04]), short(module), short(name), Buffer.from([0x93]), short('ls'), Buffer.from('\x85R.', 'latin1')]);
      for (const [i, data] of [viaGlobal, viaStack].entries()) {
        const path = repack(`evil-${module}-${i}.pt`, [{ name: 'archive/data.pkl', data }]);
        await expectModelFileError(readTorchCheckpoint(path), path, new RegExp(`unsupported object ${module.replace(/_/g, '_')}\\.${name} in the checkpoint`));
      }
    });
  });
});
