/**
 * Bit streams for the compact latents blob (store/latents-blob.ts): fixed-width fields and Rice
 * codes, least significant bit first. Rice with parameter r writes x as (x >> r) one-bits, a zero,
 * then the low r bits: cheap to decode, and within a bit or two of optimal for the
 * geometric-looking gaps it is used on (sorted feature ids, sorted activation values).
 */

/** Bits needed to write every value in 0..max (0 for max 0). */
export function bitsFor(max: number): number {
  return max <= 0 ? 0 : 32 - Math.clz32(max);
}

function riceBits(values: ArrayLike<number>, from: number, to: number, r: number): number {
  let bits = (to - from) * (1 + r);
  if (r < 32) {
    // Shifts, not division: values here are below 2^32 (ids, gaps, lengths).
    for (let i = from; i < to; i++) bits += values[i]! >>> r;
  } else {
    for (let i = from; i < to; i++) bits += Math.floor(values[i]! / 2 ** r);
  }
  return bits;
}

/**
 * The Rice parameter (0..maxR) that writes `values` in the fewest bits, and that count. The cost
 * is convex in r with its minimum near log2 of the mean, so only the neighbours of that are tried.
 */
export function bestRice(values: ArrayLike<number>, from: number, to: number, maxR: number): { r: number; bits: number } {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  const mean = to > from ? sum / (to - from) : 0;
  const guess = Math.min(maxR, Math.max(0, bitsFor(Math.floor(mean)) - 1));
  let best = { r: guess, bits: riceBits(values, from, to, guess) };
  for (const step of [-1, 1]) {
    for (let r = guess + step; r >= 0 && r <= maxR; r += step) {
      const bits = riceBits(values, from, to, r);
      if (bits >= best.bits) break;
      best = { r, bits };
    }
  }
  return best;
}

export class BitWriter {
  private buf: Uint8Array;
  private byte = 0;
  private acc = 0;
  private accBits = 0;

  constructor(capacity = 1024) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }

  private push(b: number): void {
    if (this.byte === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.byte++] = b;
  }

  /** The low `n` bits of `value` (n <= 24). */
  write(value: number, n: number): void {
    if (n === 0) return;
    this.acc |= (value & ((1 << n) - 1)) << this.accBits;
    this.accBits += n;
    while (this.accBits >= 8) {
      this.push(this.acc & 0xff);
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }

  /** An unsigned integer below 2^48 in `n` bits (n <= 48). */
  writeWide(value: number, n: number): void {
    if (n <= 24) {
      this.write(value, n);
      return;
    }
    for (let done = 0; done < n; done += 24) this.write(Math.floor(value / 2 ** done) % 2 ** 24, Math.min(24, n - done));
  }

  rice(value: number, r: number): void {
    if (value < 0x10000 && r <= 16) {
      const q = value >>> r;
      if (q + 1 + r <= 24) {
        this.write(((1 << q) - 1) | ((value & ((1 << r) - 1)) << (q + 1)), q + 1 + r);
        return;
      }
    }
    for (let q = Math.floor(value / 2 ** r); q > 0; q -= Math.min(q, 24)) this.write(0xffffff, Math.min(q, 24));
    this.write(0, 1);
    this.writeWide(value % 2 ** r, r);
  }

  bitLength(): number {
    return this.byte * 8 + this.accBits;
  }

  /** The bytes written so far, the last one padded with zero bits. */
  finish(): Uint8Array {
    if (this.accBits > 0) {
      this.push(this.acc & 0xff);
      this.acc = 0;
      this.accBits = 0;
    }
    return this.buf.subarray(0, this.byte);
  }
}

export class BitReader {
  private byte: number;
  private acc = 0;
  private accBits = 0;

  constructor(private readonly buf: Uint8Array, start = 0, private readonly onOverrun: () => never) {
    this.byte = start;
  }

  private fill(): void {
    while (this.accBits <= 24) {
      if (this.byte >= this.buf.length) {
        // Past the end: zeros, but only a few bytes' worth (the last byte's padding); reading
        // further means the blob is truncated.
        if (this.byte >= this.buf.length + 4) this.onOverrun();
        this.byte++;
        this.accBits += 8;
        continue;
      }
      this.acc |= this.buf[this.byte++]! << this.accBits;
      this.accBits += 8;
    }
  }

  /** `n` bits (n <= 24). */
  read(n: number): number {
    if (n === 0) return 0;
    if (this.accBits < n) this.fill();
    const v = this.acc & ((1 << n) - 1);
    this.acc >>>= n;
    this.accBits -= n;
    return v;
  }

  readWide(n: number): number {
    if (n <= 24) return this.read(n);
    let v = 0;
    for (let done = 0; done < n; done += 24) v += this.read(Math.min(24, n - done)) * 2 ** done;
    return v;
  }

  rice(r: number): number {
    let q = 0;
    for (;;) {
      if (this.accBits < 24) this.fill();
      // Trailing one-bits of acc: the unary part (at most 24 are examined per step).
      const lowestZero = ~this.acc & (this.acc + 1);
      const take = lowestZero === 0 ? 24 : Math.min(31 - Math.clz32(lowestZero), 24);
      q += take;
      this.acc >>>= take;
      this.accBits -= take;
      if (take < 24) break;
      if (q > 0x7fffffff) this.onOverrun();
    }
    this.acc >>>= 1; // the terminating zero
    this.accBits -= 1;
    if (r <= 24) {
      const low = this.read(r);
      return q < 0x80 && r <= 16 ? (q << r) | low : q * 2 ** r + low;
    }
    return q * 2 ** r + this.readWide(r);
  }

  /**
   * `count` fields of `n` bits (n <= 24) into out[at..]: the hot loop of a blob's ids, kept on
   * locals rather than fields.
   */
  readMany(out: Uint32Array, at: number, count: number, n: number): void {
    if (n === 0) {
      out.fill(0, at, at + count);
      return;
    }
    const mask = (1 << n) - 1;
    const buf = this.buf;
    const len = buf.length;
    let acc = this.acc;
    let accBits = this.accBits;
    let byte = this.byte;
    for (let i = 0; i < count; i++) {
      while (accBits < n) {
        if (byte >= len) {
          this.acc = acc;
          this.accBits = accBits;
          this.byte = byte;
          this.fill();
          acc = this.acc;
          accBits = this.accBits;
          byte = this.byte;
          break;
        }
        acc |= buf[byte++]! << accBits;
        accBits += 8;
      }
      out[at + i] = acc & mask;
      acc >>>= n;
      accBits -= n;
    }
    this.acc = acc;
    this.accBits = accBits;
    this.byte = byte;
  }

  /** `count` Rice codes of parameter r into out[at..] (the hot loop of a blob's values). */
  riceMany(out: Int32Array, at: number, count: number, r: number): void {
    if (r > 16) {
      for (let i = 0; i < count; i++) out[at + i] = this.rice(r);
      return;
    }
    const buf = this.buf;
    const len = buf.length;
    const mask = (1 << r) - 1;
    let acc = this.acc;
    let accBits = this.accBits;
    let byte = this.byte;
    for (let i = 0; i < count; i++) {
      while (accBits <= 24 && byte < len) {
        acc |= buf[byte++]! << accBits;
        accBits += 8;
      }
      const lowestZero = ~acc & (acc + 1);
      const q = lowestZero === 0 ? 32 : 31 - Math.clz32(lowestZero);
      if (q >= 24 || q + 1 + r > accBits) {
        // A long unary run, or the stream's end: the general path.
        this.acc = acc;
        this.accBits = accBits;
        this.byte = byte;
        out[at + i] = this.rice(r);
        acc = this.acc;
        accBits = this.accBits;
        byte = this.byte;
        continue;
      }
      acc >>>= q + 1;
      out[at + i] = (q << r) | (acc & mask);
      acc >>>= r;
      accBits -= q + 1 + r;
    }
    this.acc = acc;
    this.accBits = accBits;
    this.byte = byte;
  }

  /** Bits consumed from the start of the buffer. */
  position(): number {
    return this.byte * 8 - this.accBits;
  }

  /** Continues at bit `bit` of the buffer. */
  seek(bit: number): void {
    this.byte = Math.floor(bit / 8);
    this.acc = 0;
    this.accBits = 0;
    if (this.byte > this.buf.length) this.onOverrun();
    this.read(bit % 8);
  }

  /** True when the stream ended within the last byte read (no bytes left over, no overrun). */
  atEnd(): boolean {
    return Math.ceil((this.byte * 8 - this.accBits) / 8) === this.buf.length;
  }
}
