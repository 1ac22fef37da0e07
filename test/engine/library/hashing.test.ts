import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintFile, fingerprintModelDir, fingerprintSae, partialHash, HEAD_BYTES } from '../../../main/engine/library/hashing.js';
import { ModelFileError } from '../../../main/engine/errors.js';
import { ROOT } from '../../helpers/references.js';

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'clipscope-hash-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const MODEL = path.join(ROOT, 'test/fixtures/models/clip-tiny-gelu');
const SAE = path.join(ROOT, 'test/fixtures/saes/clipscope-gelu/2_resid/1000.pt');

describe('partial content hash', () => {
  it('is the same for a copy, different for any edit at the start, the end or in size', async () => {
    const big = Buffer.alloc(HEAD_BYTES * 3, 7);
    for (let i = 0; i < big.length; i += 997) big[i] = i & 255;
    const a = path.join(tmp, 'a.jpg');
    const b = path.join(tmp, 'b.jpg');
    await fs.writeFile(a, big);
    await fs.writeFile(b, big);
    const ha = await partialHash(a);
    expect(ha.size).toBe(big.length);
    expect(ha.hash).toMatch(/^[0-9a-f]{32}$/);
    expect((await partialHash(b)).hash).toBe(ha.hash);
    const edits: [string, (x: Buffer) => Buffer][] = [
      ['first byte', (x) => { const y = Buffer.from(x); y[0]! ^= 1; return y; }],
      ['last byte', (x) => { const y = Buffer.from(x); y[y.length - 1]! ^= 1; return y; }],
      ['one byte longer', (x) => Buffer.concat([x, Buffer.from([0])])],
    ];
    for (const [what, edit] of edits) {
      await fs.writeFile(b, edit(big));
      expect((await partialHash(b)).hash, what).not.toBe(ha.hash);
    }
    // The middle of a big file is not read (rclip's trade-off): documented, not a bug.
    const mid = Buffer.from(big);
    mid[HEAD_BYTES + 10]! ^= 1;
    await fs.writeFile(b, mid);
    expect((await partialHash(b)).hash).toBe(ha.hash);
  });

  it('hashes small and empty files whole', async () => {
    const e = path.join(tmp, 'empty.jpg');
    await fs.writeFile(e, '');
    const s = path.join(tmp, 'small.jpg');
    await fs.writeFile(s, 'x');
    expect((await partialHash(e)).size).toBe(0);
    expect((await partialHash(e)).hash).not.toBe((await partialHash(s)).hash);
  });
});

describe('model fingerprints', () => {
  it('are stable, content-tied and independent of where the files live', async () => {
    const fp = await fingerprintModelDir(MODEL);
    expect(fp).toBe(await fingerprintModelDir(MODEL));
    const copy = path.join(tmp, 'model-copy');
    await fs.cp(MODEL, copy, { recursive: true });
    expect(await fingerprintModelDir(copy)).toBe(fp);
    // A changed weight changes it (the tiny weights file is read whole).
    const w = path.join(copy, 'model.safetensors');
    const bytes = await fs.readFile(w);
    bytes[bytes.length - 3]! ^= 0x40;
    await fs.writeFile(w, bytes);
    expect(await fingerprintModelDir(copy)).not.toBe(fp);
    expect(await fingerprintModelDir(path.join(ROOT, 'test/fixtures/models/clip-tiny-quickgelu'))).not.toBe(fp);

    const sfp = await fingerprintSae(SAE);
    const saeCopy = path.join(tmp, 'renamed-sae.pt');
    await fs.copyFile(SAE, saeCopy);
    expect(await fingerprintSae(saeCopy)).toBe(sfp);
    expect(await fingerprintSae(path.join(ROOT, 'test/fixtures/saes/clipscope-quickgelu/1_resid/500.pt'))).not.toBe(sfp);
    expect(await fingerprintSae(path.join(ROOT, 'test/fixtures/saes/saelens-topk-gelu'))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads about a megabyte of a large file, whatever its size', async () => {
    const f = path.join(tmp, 'big.safetensors');
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await fs.writeFile(f, Buffer.concat([len, header, Buffer.alloc(64 * 1024 * 1024, 1)]));
    const t0 = performance.now();
    const a = await fingerprintFile(f);
    expect(performance.now() - t0).toBeLessThan(5000);
    const h = await fs.open(f, 'r+');
    await h.write(Buffer.from([9]), 0, 1, 8 + header.length + 5); // inside the first sampled block
    await h.close();
    expect(await fingerprintFile(f)).not.toBe(a);
  });

  it('names the file when it is missing', async () => {
    await expect(fingerprintModelDir(path.join(tmp, 'nope'))).rejects.toBeInstanceOf(ModelFileError);
    await expect(fingerprintSae(path.join(tmp, 'nope.pt'))).rejects.toThrow(/no such SAE/);
  });
});
