import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../../main/engine/errors.js';
import { PickleCallable, unpickle, type UnpickleOptions } from '../../../main/engine/formats/pickle.js';
import { expectValue, fixture, manifest } from './fixtures.js';

const none: UnpickleOptions = { file: 'test.pt', entry: 'archive/data.pkl', findGlobal: () => undefined };
const run = (bytes: number[] | Buffer, options: UnpickleOptions = none) => unpickle(Uint8Array.from(bytes), options);
const err = (f: () => unknown): ModelFileError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFileError);
    expect((e as ModelFileError).message.startsWith('test.pt: ')).toBe(true);
    return e as ModelFileError;
  }
  throw new Error('expected a ModelFileError');
};

describe('unpickle', () => {
  for (const [name, expected] of Object.entries(manifest.pickles)) {
    it(`reads ${name} as Python wrote it`, async () => {
      await expectValue(unpickle(readFileSync(fixture(name)), { ...none, file: name }), expected, name);
    });
  }

  it('keeps shared references shared (memo) and turns "__proto__" into an ordinary key', () => {
    // {'__proto__': L, 'b': L} where L = [1] is memoised once.
    const p = Buffer.from('\x80\x02}q\x00(X\x09\x00\x00\x00__proto__q\x01]q\x02K\x01aX\x01\x00\x00\x00bh\x02u.', 'latin1');
    const v = run(p) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'b']);
    expect(v['b']).toEqual([1]);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')!.value).toBe(v['b']);
    expect(({} as Record<string, unknown>)['b']).toBeUndefined();
  });

  it('refuses globals that are not whitelisted, and never calls anything else', () => {
    let called = false;
    const options = { ...none, findGlobal: (m: string, n: string) => (m === 'ok' ? new PickleCallable(`${m}.${n}`, () => (called = true)) : undefined) };
    const e = err(() => run(Buffer.from('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.', 'latin1'), options));
    expect(e.reason).toBe('unsupported object os.system in the checkpoint (only tensors, containers and plain values are loaded, never code)');
    expect(called).toBe(false);
    expect(run(Buffer.from('\x80\x02cok\nf\n)R.', 'latin1'), options)).toBe(true);
    // A string or a list is not callable: REDUCE on it is refused.
    expect(err(() => run(Buffer.from('\x80\x02X\x01\x00\x00\x00a)R.', 'latin1'))).reason).toMatch(/not a whitelisted function/);
  });

  it('reports truncation, unknown opcodes and stack corruption', () => {
    const good = readFileSync(fixture('plain_p2.pkl'));
    for (const n of [0, 1, 5, 20, good.length - 1]) expect(err(() => run(good.subarray(0, n))).reason).toMatch(/archive\/data\.pkl is (truncated|corrupt)/);
    expect(err(() => run([0x80, 0x02, 0x69])).reason).toMatch(/unsupported pickle opcode 0x69 at byte 2/);
    expect(err(() => run([0x80, 0x02, 0x61, 0x2e])).reason).toMatch(/stack underflow/);
    expect(err(() => run([0x80, 0x02, 0x68, 0x05, 0x2e])).reason).toMatch(/memo 5 is unset/);
    expect(err(() => run([0x80, 0x02, 0x4e, 0x51, 0x2e])).reason).toMatch(/external data/);
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    const deep = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(5000, 0x5d), Buffer.alloc(4999, 0x61), Buffer.from([0x2e])]);
    expect(err(() => run(deep)).reason).toMatch(/nests containers too deeply/);
  });
});
