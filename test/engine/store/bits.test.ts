import { describe, expect, it } from 'vitest';
import { bestRice, BitReader, BitWriter, bitsFor } from '../../../main/engine/store/bits.js';
import { rng } from './helpers.js';

const overrun = (): never => {
  throw new Error('overrun');
};

describe('bit streams', () => {
  it('round-trip fixed-width fields, wide integers and Rice codes in any mix', () => {
    const r = rng(9);
    type Op = { kind: 'fixed' | 'wide' | 'rice'; value: number; n: number };
    const ops: Op[] = [];
    for (let i = 0; i < 5000; i++) {
      const pick = r();
      if (pick < 0.4) {
        const n = 1 + Math.floor(r() * 24);
        ops.push({ kind: 'fixed', n, value: Math.floor(r() * 2 ** n) });
      } else if (pick < 0.5) {
        const n = 25 + Math.floor(r() * 23);
        ops.push({ kind: 'wide', n, value: Math.floor(r() * 2 ** n) });
      } else {
        const n = Math.floor(r() * 25);
        // Mostly near 2^n, sometimes far above it (long unary runs).
        const value = r() < 0.05 ? Math.floor(r() * 3000) * 2 ** n + Math.floor(r() * 2 ** n) : Math.floor(r() * 3 * 2 ** n);
        ops.push({ kind: 'rice', n, value });
      }
    }
    const w = new BitWriter(4);
    for (const op of ops) {
      if (op.kind === 'fixed') w.write(op.value, op.n);
      else if (op.kind === 'wide') w.writeWide(op.value, op.n);
      else w.rice(op.value, op.n);
    }
    const bytes = w.finish();
    const rd = new BitReader(bytes, 0, overrun);
    for (const op of ops) {
      const got = op.kind === 'fixed' ? rd.read(op.n) : op.kind === 'wide' ? rd.readWide(op.n) : rd.rice(op.n);
      expect(got).toBe(op.value);
    }
    expect(rd.atEnd()).toBe(true);
  });

  it('reports a stream read past its end', () => {
    const w = new BitWriter();
    w.rice(40, 0);
    const bytes = w.finish();
    const rd = new BitReader(bytes.subarray(0, 2), 0, overrun);
    expect(() => {
      for (;;) rd.rice(0);
    }).toThrow('overrun');
  });

  it('chooses the Rice parameter that writes the fewest bits', () => {
    const gaps = [70, 64, 90, 3, 120, 66, 75, 80];
    const best = bestRice(gaps, 0, gaps.length, 20);
    for (let r = 0; r <= 20; r++) {
      const bits = gaps.reduce((s, g) => s + Math.floor(g / 2 ** r) + 1 + r, 0);
      expect(best.bits).toBeLessThanOrEqual(bits);
    }
    expect(best.bits).toBe(gaps.reduce((s, g) => s + Math.floor(g / 2 ** best.r) + 1 + best.r, 0));
    expect([bitsFor(0), bitsFor(1), bitsFor(255), bitsFor(256), bitsFor(65_535)]).toEqual([0, 1, 8, 9, 16]);
  });
});
