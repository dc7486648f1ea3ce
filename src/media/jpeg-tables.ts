import { CorruptImageError } from "./errors";

/** The JPEG decoder's tables: Huffman decoding tables, zigzag order, scaled IDCT matrices, YCbCr → RGB terms. */

export type Scale = 1 | 2 | 4 | 8;

export interface Huffman {
  /** 9-bit lookahead: (length << 8) | symbol, or 0 when the code is longer. */
  fast: Uint16Array;
  /**
   * AC fast path, 9-bit lookahead: a code and its value bits that fit in 9 bits, decoded at once, packed as
   * (value << 12) | (run << 4) | bits used; 0 when they do not fit (the slow path decodes them).
   */
  fastAc: Int32Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

export const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47,
  55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

/** For scale s, an (8/s)×8 matrix: output sample x = Σ_u M[x][u]·F(u), the mean of the s full-size IDCT samples. */
const IDCT_MATRICES = new Map<number, Float32Array>();
export function idctMatrix(s: Scale): Float32Array {
  let m = IDCT_MATRICES.get(s);
  if (m) return m;
  const n = 8 / s;
  m = new Float32Array(n * 8);
  for (let x = 0; x < n; x++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let i = x * s; i < (x + 1) * s; i++)
        sum += ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * i + 1) * u * Math.PI) / 16);
      const v = sum / s;
      m[x * 8 + u] = Math.abs(v) < 1e-9 ? 0 : v;
    }
  }
  IDCT_MATRICES.set(s, m);
  return m;
}

/** The frequencies a scaled IDCT uses at all (at 1/4 the even ones above 0 average out to exactly zero). */
export function usedFrequencies(m: Float32Array, n: number): number {
  let mask = 0;
  for (let x = 0; x < n; x++) for (let u = 0; u < 8; u++) if (m[x * 8 + u] !== 0) mask |= 1 << u;
  return mask;
}

export function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const fast = new Uint16Array(512);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    const n = counts[len - 1];
    for (let j = 0; j < n; j++) {
      if (len <= 9) {
        const shift = 9 - len;
        const base = code << shift;
        for (let f = 0; f < 1 << shift; f++) if (base + f < 512) fast[base + f] = (len << 8) | values[k];
      }
      code++;
      k++;
    }
    maxcode[len] = n ? code - 1 : -1;
    if (code > 1 << len) throw new CorruptImageError("corrupt JPEG: oversubscribed Huffman table");
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  const fastAc = new Int32Array(512);
  for (let i = 0; i < 512; i++) {
    const look = fast[i];
    if (!look) continue;
    const len = look >> 8;
    const rs = look & 0xff;
    const size = rs & 15;
    if (!size || len + size > 9) continue;
    const raw = (i >> (9 - len - size)) & ((1 << size) - 1);
    const value = raw < 1 << (size - 1) ? raw - (1 << size) + 1 : raw;
    fastAc[i] = (value << 12) | ((rs >> 4) << 4) | (len + size);
  }
  return { fast, fastAc, maxcode, valptr, mincode, values: values.slice() };
}

/** YCbCr → RGB terms per chroma value (JFIF). */
export const CR_R = new Float32Array(256);
export const CB_G = new Float32Array(256);
export const CR_G = new Float32Array(256);
export const CB_B = new Float32Array(256);
for (let v = 0; v < 256; v++) {
  CR_R[v] = 1.402 * (v - 128);
  CB_G[v] = 0.344136 * (v - 128);
  CR_G[v] = 0.714136 * (v - 128);
  CB_B[v] = 1.772 * (v - 128);
}

export function isDcOnly(coef: Float32Array): boolean {
  for (let k = 1; k < 8; k++) if (coef[k] !== 0) return false;
  return true;
}

export function clamp8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
