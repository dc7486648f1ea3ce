import { CorruptImageError } from "./errors";
import { ZIGZAG, type Huffman } from "./jpeg-tables";

/**
 * Baseline entropy decoding, written for V8: the bit reader's state lives in locals of one function per block
 * (closures over `let` variables kept it in heap contexts, re-read and re-written on every bit), and the reader
 * works on an unstuffed copy of the data, refilled a chunk at a time, so filling the bit buffer is one load per
 * byte with no marker checks.
 */

/** Bytes unstuffed at a time. Settable so tests can put chunk ends everywhere (never below HEADROOM + 64). */
export const entropyChunk = { bytes: 64 * 1024 };
/** Zeros after the data: one block reads at most ~260 bytes, and the caller checks for overrun after each block. */
const PAD = 1024;
/** Room every block start needs before the end of a chunk that is not the last. */
const HEADROOM = 512;

/** Entropy-coded bytes from `src`, unstuffed (0xFF00 → 0xFF, fill bytes dropped), up to the next marker. */
export class EntropyReader {
  private readonly chunk = Math.max(HEADROOM + 64, entropyChunk.bytes);
  readonly buf = new Uint8Array(this.chunk + PAD);
  /** Bytes of data in `buf`; zeros follow. */
  len = 0;
  /** The data ended (a marker or the end of the file) at `len`. */
  ended = false;
  /** Position of that marker in the file (or the file's length). */
  markerAt = -1;
  /** Reader state: bit accumulator, bits in it, next byte of `buf`. */
  readonly st = new Int32Array(3);
  private src: number;

  constructor(
    private readonly b: Uint8Array,
    start: number,
  ) {
    this.src = start;
    this.refill();
  }

  /** Starts over at `start` (after a restart marker), byte-aligned. */
  restart(start: number) {
    this.src = start;
    this.len = 0;
    this.ended = false;
    this.markerAt = -1;
    this.st.fill(0);
    this.refill();
  }

  /** Called before each block: keeps HEADROOM bytes ahead of the reader, and fails a stream read past its end. */
  ready() {
    const st = this.st;
    if (!this.ended && st[2] > this.len - HEADROOM) this.refill();
    if (this.ended) this.checkEnd();
  }

  /**
   * Before a marker a scan may end a few padded bits early; much more than that is a truncated or corrupt stream.
   * Data that runs to the end of the file was cut short: nothing past it may be used.
   */
  checkEnd() {
    const st = this.st;
    const slack = this.markerAt === this.b.length ? 0 : 64;
    if (st[2] * 8 - st[1] > this.len * 8 + slack) throw new CorruptImageError("truncated JPEG: image data ends early");
  }

  private refill() {
    const buf = this.buf;
    const st = this.st;
    const keep = this.len - st[2];
    if (keep > 0) buf.copyWithin(0, st[2], this.len);
    let n = Math.max(0, keep);
    st[2] = 0;
    const b = this.b;
    let p = this.src;
    while (n < this.chunk) {
      if (p >= b.length) {
        this.ended = true;
        this.markerAt = b.length;
        break;
      }
      const byte = b[p];
      if (byte !== 0xff) {
        buf[n++] = byte;
        p++;
        continue;
      }
      const next = b[p + 1];
      if (next === 0) {
        buf[n++] = 0xff;
        p += 2;
      } else if (next === 0xff) p++;
      else {
        this.ended = true;
        this.markerAt = p;
        break;
      }
    }
    this.src = p;
    this.len = n;
    if (this.ended) buf.fill(0, n, n + PAD);
  }
}

const ZZ = Int32Array.from(ZIGZAG);

/** A code longer than the 9-bit lookahead: (length << 8) | symbol, or -1. `bits` ≥ 16. */
function slowSymbol(t: Huffman, acc: number, bits: number): number {
  for (let len = 10; len <= 16; len++) {
    const code = (acc >>> (bits - len)) & ((1 << len) - 1);
    if (code <= t.maxcode[len]) return (len << 8) | t.values[t.valptr[len] + code - t.mincode[len]];
  }
  return -1;
}

const badCode = () => new CorruptImageError("corrupt JPEG: bad Huffman code");
const badIndex = () => new CorruptImageError("corrupt JPEG: coefficient index out of range");

/**
 * One block: the DC predictor plus the block's difference is left for `predictor()`; when `coef` is given, writes the
 * dequantized coefficients (`q`, natural order) into it (which the caller keeps zeroed between blocks) and returns the mask of its
 * rows that hold anything. Without `coef` the block is only skipped over.
 */
export function decodeBlockCoefs(
  r: EntropyReader,
  dcT: Huffman,
  acT: Huffman,
  q: Float64Array,
  coef: Float64Array | null,
  pred: number,
): number {
  const st = r.st;
  const buf = r.buf;
  let acc = st[0];
  let bits = st[1];
  let sp = st[2];
  if (bits < 16)
    do {
      acc = (acc << 8) | buf[sp++];
      bits += 8;
    } while (bits <= 24);
  let sym = dcT.fast[(acc >>> (bits - 9)) & 511];
  if (sym === 0) {
    sym = slowSymbol(dcT, acc, bits);
    if (sym < 0) throw badCode();
  }
  bits -= sym >> 8;
  sym &= 255;
  if (sym > 16) throw new CorruptImageError("corrupt JPEG: bad coefficient size");
  if (sym !== 0) {
    if (bits < sym)
      do {
        acc = (acc << 8) | buf[sp++];
        bits += 8;
      } while (bits <= 24);
    const v = (acc >>> (bits - sym)) & ((1 << sym) - 1);
    bits -= sym;
    pred += v < 1 << (sym - 1) ? v - (1 << sym) + 1 : v;
  }
  let rowMask = 1;
  if (coef) coef[0] = pred * q[0];
  const fastAc = acT.fastAc;
  const fast = acT.fast;
  let k = 1;
  while (k < 64) {
    if (bits < 16)
      do {
        acc = (acc << 8) | buf[sp++];
        bits += 8;
      } while (bits <= 24);
    const idx = (acc >>> (bits - 9)) & 511;
    const fac = fastAc[idx];
    if (fac !== 0) {
      bits -= fac & 15;
      k += (fac >> 4) & 15;
      if (coef) {
        if (k > 63) throw badIndex();
        const z = ZZ[k];
        coef[z] = (fac >> 12) * q[z];
        rowMask |= 1 << (z >> 3);
      }
      k++;
      continue;
    }
    let rs = fast[idx];
    if (rs === 0) {
      rs = slowSymbol(acT, acc, bits);
      if (rs < 0) throw badCode();
    }
    bits -= rs >> 8;
    rs &= 255;
    const size = rs & 15;
    if (size === 0) {
      if (rs !== 0xf0) break;
      k += 16;
      continue;
    }
    k += rs >> 4;
    if (k > 63) throw badIndex();
    if (bits < size)
      do {
        acc = (acc << 8) | buf[sp++];
        bits += 8;
      } while (bits <= 24);
    if (coef) {
      const v = (acc >>> (bits - size)) & ((1 << size) - 1);
      const z = ZZ[k];
      coef[z] = (v < 1 << (size - 1) ? v - (1 << size) + 1 : v) * q[z];
      rowMask |= 1 << (z >> 3);
    }
    bits -= size;
    k++;
  }
  st[0] = acc;
  st[1] = bits;
  st[2] = sp;
  lastPred = pred;
  return rowMask;
}

let lastPred = 0;
/** The DC predictor after the last decodeBlockCoefs call. */
export function predictor(): number {
  return lastPred;
}
