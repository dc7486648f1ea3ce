import { CorruptImageError, ImageTooLargeError } from "./errors";
import type { Component } from "./jpeg-scan";
import { ZIGZAG, type Huffman } from "./jpeg-tables";
import { LIMITS } from "./limits";

/**
 * Progressive JPEG scans (spectral selection and successive approximation, libjpeg's jdphuff rules). A progressive
 * image cannot be streamed: every scan refines every block, so the quantized coefficients of the whole image are
 * kept (2 bytes each: 3 bytes a pixel at 4:2:0), bounded by LIMITS.maxProgressiveBytes. Once the last scan is read,
 * jpeg-scan renders them exactly like a baseline scan (DCT scaling, regions).
 */

export interface ProgressiveFrame {
  width: number;
  height: number;
  comps: Component[];
  mcusPerLine: number;
  mcuRows: number;
  hmax: number;
  vmax: number;
  /** Per component, natural-order coefficients of block (row, col) at ((row * blocksPerLine) + col) * 64. */
  coefs: Int16Array[];
  /**
   * Per component, which AC coefficients of each block are non-zero, by zigzag index: block b's bits for k < 32 at
   * [2b], k ≥ 32 at [2b + 1]. Refinement scans and rendering visit only those (most are zero).
   */
  nonZero: Int32Array[];
}

export function allocateCoefficients(width: number, height: number, comps: Component[]): ProgressiveFrame {
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * hmax));
  const mcuRows = Math.ceil(height / (8 * vmax));
  let total = 0;
  for (const c of comps) total += mcusPerLine * c.h * mcuRows * c.v * 64 * 2;
  if (total > LIMITS.maxProgressiveBytes)
    throw new ImageTooLargeError(
      `progressive JPEG of ${width}×${height} needs ${Math.ceil(total / 1048576)} MiB of coefficients: the limit is ${LIMITS.maxProgressiveBytes / 1048576} MiB`,
    );
  for (const c of comps) c.blocksPerLine = mcusPerLine * c.h;
  return {
    width,
    height,
    comps,
    mcusPerLine,
    mcuRows,
    hmax,
    vmax,
    coefs: comps.map((c) => new Int16Array(c.blocksPerLine * mcuRows * c.v * 64)),
    nonZero: comps.map((c) => new Int32Array(c.blocksPerLine * mcuRows * c.v * 2)),
  };
}

class BitReader {
  acc = 0;
  bits = 0;
  markerHit = false;
  padBits = 0;
  constructor(
    readonly b: Uint8Array,
    public pos: number,
  ) {}

  private fill() {
    while (this.bits <= 24) {
      let byte = 0;
      if (!this.markerHit) {
        if (this.pos >= this.b.length) throw new CorruptImageError("truncated JPEG: image data ends early");
        byte = this.b[this.pos];
        if (byte === 0xff) {
          const next = this.b[this.pos + 1];
          if (next === 0) this.pos += 2;
          else if (next === 0xff) {
            this.pos++;
            continue;
          } else {
            this.markerHit = true;
            byte = 0;
          }
        } else this.pos++;
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  get(n: number): number {
    if (n === 0) return 0;
    if (this.bits < n) this.fill();
    const v = (this.acc >>> (this.bits - n)) & ((1 << n) - 1);
    this.bits -= n;
    if (this.markerHit && (this.padBits += n) > 64)
      throw new CorruptImageError("truncated JPEG: image data ends early");
    return v;
  }

  extend(n: number): number {
    if (n > 16) throw new CorruptImageError("corrupt JPEG: bad coefficient size");
    const v = this.get(n);
    return n && v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  private consume(n: number) {
    this.bits -= n;
    if (this.markerHit && (this.padBits += n) > 64)
      throw new CorruptImageError("truncated JPEG: image data ends early");
  }

  /** A symbol: codes of up to 9 bits through the table's lookahead, longer ones bit by bit past it. */
  huff(t: Huffman): number {
    if (this.bits < 16) this.fill();
    const look = t.fast[(this.acc >>> (this.bits - 9)) & 511];
    if (look) {
      this.consume(look >> 8);
      return look & 0xff;
    }
    for (let len = 10; len <= 16; len++) {
      const code = (this.acc >>> (this.bits - len)) & ((1 << len) - 1);
      if (code <= t.maxcode[len]) {
        this.consume(len);
        return t.values[t.valptr[len] + code - t.mincode[len]];
      }
    }
    throw new CorruptImageError("corrupt JPEG: bad Huffman code");
  }

  /** At a restart boundary: byte-align and expect RSTn. */
  restart(expected: number) {
    this.bits = 0;
    this.acc = 0;
    this.padBits = 0;
    this.markerHit = false;
    while (this.b[this.pos] === 0xff && this.b[this.pos + 1] === 0xff) this.pos++;
    if (this.b[this.pos] !== 0xff || this.b[this.pos + 1] !== 0xd0 + expected)
      throw new CorruptImageError("corrupt JPEG: restart marker missing");
    this.pos += 2;
  }
}

export interface ScanSpec {
  comps: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
  restartInterval: number;
}

/** Decodes one progressive scan into the coefficients; returns the position of the marker that follows it. */
export function decodeProgressiveScan(b: Uint8Array, start: number, f: ProgressiveFrame, scan: ScanSpec): number {
  const { ss, se, ah, al } = scan;
  if (ss > se || se > 63 || (ss === 0 && se !== 0) || al > 13 || (ss > 0 && scan.comps.length !== 1))
    throw new CorruptImageError("corrupt JPEG: bad progressive scan parameters");
  const br = new BitReader(b, start);
  let eobrun = 0;
  for (const c of scan.comps) c.pred = 0;
  const p1 = 1 << al;
  const m1 = -1 << al;

  const block = (c: Component, blk: Int16Array, nz: Int32Array, o: number) => {
    const b2 = o >> 5; // this block's two mask words: (o / 64) * 2
    if (ss === 0) {
      if (ah === 0) {
        const t = br.huff(c.dcTable!);
        c.pred += br.extend(t);
        blk[o] = c.pred * p1;
      } else if (br.get(1)) blk[o] |= p1;
      return;
    }
    const ac = c.acTable!;
    if (ah === 0) {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      for (let k = ss; k <= se; k++) {
        const rs = br.huff(ac);
        const r = rs >> 4;
        const s = rs & 15;
        if (s) {
          k += r;
          if (k > 63) throw new CorruptImageError("corrupt JPEG: coefficient index out of range");
          blk[o + ZIGZAG[k]] = br.extend(s) * p1;
          nz[b2 + (k >> 5)] |= 1 << (k & 31);
        } else if (r === 15) k += 15;
        else {
          eobrun = (1 << r) + br.get(r) - 1;
          break;
        }
      }
      return;
    }
    // Refinement: one more bit for every coefficient already non-zero, new ±1 coefficients placed among zeros.
    let k = ss;
    if (eobrun === 0) {
      for (; k <= se; k++) {
        const rs = br.huff(ac);
        let r = rs >> 4;
        const s = rs & 15;
        let value = 0;
        if (s) {
          if (s !== 1) throw new CorruptImageError("corrupt JPEG: bad refinement coefficient");
          value = br.get(1) ? p1 : m1;
        } else if (r !== 15) {
          eobrun = (1 << r) + br.get(r);
          break;
        }
        for (; k <= se; k++) {
          const z = o + ZIGZAG[k];
          if (blk[z] !== 0) {
            if (br.get(1) && (blk[z] & p1) === 0) blk[z] += blk[z] >= 0 ? p1 : m1;
          } else if (--r < 0) break;
        }
        if (value && k <= se) {
          blk[o + ZIGZAG[k]] = value;
          nz[b2 + (k >> 5)] |= 1 << (k & 31);
        }
      }
    }
    if (eobrun > 0) {
      // A correction bit for each coefficient of k..se already non-zero, in order: walk the mask's set bits.
      for (let w = k >> 5; w <= se >> 5; w++) {
        const lo = w === k >> 5 ? k & 31 : 0;
        const hi = w === se >> 5 ? se & 31 : 31;
        let bits = nz[b2 + w] & (hi === 31 ? -1 : (1 << (hi + 1)) - 1) & ~((1 << lo) - 1);
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const z = o + ZIGZAG[(w << 5) + 31 - Math.clz32(low)];
          if (br.get(1) && (blk[z] & p1) === 0) blk[z] += blk[z] >= 0 ? p1 : m1;
        }
      }
      eobrun--;
    }
  };

  let restartsLeft = scan.restartInterval;
  let expected = 0;
  const tick = () => {
    if (!scan.restartInterval) return;
    if (restartsLeft === 0) {
      br.restart(expected);
      expected = (expected + 1) & 7;
      restartsLeft = scan.restartInterval;
      eobrun = 0;
      for (const c of scan.comps) c.pred = 0;
    }
    restartsLeft--;
  };

  if (scan.comps.length === 1) {
    // Non-interleaved: the component's own block grid, one block per MCU.
    const c = scan.comps[0];
    const ci = f.comps.indexOf(c);
    const blk = f.coefs[ci];
    const nz = f.nonZero[ci];
    const bw = Math.ceil(Math.ceil((f.width * c.h) / f.hmax) / 8);
    const bh = Math.ceil(Math.ceil((f.height * c.v) / f.vmax) / 8);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        tick();
        block(c, blk, nz, (by * c.blocksPerLine + bx) * 64);
      }
    }
  } else {
    for (let my = 0; my < f.mcuRows; my++) {
      for (let mx = 0; mx < f.mcusPerLine; mx++) {
        tick();
        for (const c of scan.comps) {
          const ci = f.comps.indexOf(c);
          const blk = f.coefs[ci];
          const nz = f.nonZero[ci];
          for (let v = 0; v < c.v; v++)
            for (let h = 0; h < c.h; h++) block(c, blk, nz, ((my * c.v + v) * c.blocksPerLine + mx * c.h + h) * 64);
        }
      }
    }
  }
  // Skip to the next marker (a scan may end with padding bits).
  let pos = br.pos;
  while (pos + 1 < b.length && !(b[pos] === 0xff && b[pos + 1] !== 0 && !(b[pos + 1] >= 0xd0 && b[pos + 1] <= 0xd7)))
    pos++;
  return pos;
}
