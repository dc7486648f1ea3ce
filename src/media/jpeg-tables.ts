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

const AAN = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/**
 * A quantization table as multipliers (natural order); for the AAN IDCT (`aan`) scaled by its row and column
 * factors and by the final 1/8, as libjpeg's jddctmgr.c prepares its float tables.
 */
export function dequantTable(q: Int32Array, aan: boolean): Float64Array {
  const t = new Float64Array(64);
  for (let v = 0; v < 8; v++)
    for (let u = 0; u < 8; u++) t[v * 8 + u] = aan ? (q[v * 8 + u] * AAN[v] * AAN[u]) / 8 : q[v * 8 + u];
  return t;
}

/**
 * libjpeg's float AAN IDCT (jidctflt.c) of prescaled coefficients (dequantTable(q, true)) into 8×8 samples at
 * `out[at]` with `stride`, level-shifted and clamped. Rows of coefficients that hold nothing (`rowMask`) are skipped;
 * the rows read are zeroed, so `c` is clear for the next block.
 */
export function idct8(c: Float64Array, ws: Float64Array, out: Uint8Array, at: number, stride: number, rowMask: number) {
  for (let v = 0; v < 8; v++) {
    const o = v * 8;
    if (!(rowMask & (1 << v))) {
      for (let u = o; u < o + 8; u++) ws[u] = 0;
      continue;
    }
    const i0 = c[o];
    const i1 = c[o + 1];
    const i2 = c[o + 2];
    const i3 = c[o + 3];
    const i4 = c[o + 4];
    const i5 = c[o + 5];
    const i6 = c[o + 6];
    const i7 = c[o + 7];
    // Read once, cleared for the next block.
    for (let u = o; u < o + 8; u++) c[u] = 0;
    if (i1 === 0 && i2 === 0 && i3 === 0 && i4 === 0 && i5 === 0 && i6 === 0 && i7 === 0) {
      for (let u = o; u < o + 8; u++) ws[u] = i0;
      continue;
    }
    // Even part.
    const t10 = i0 + i4;
    const t11 = i0 - i4;
    const t13 = i2 + i6;
    const t12 = (i2 - i6) * 1.414213562 - t13;
    const e0 = t10 + t13;
    const e3 = t10 - t13;
    const e1 = t11 + t12;
    const e2 = t11 - t12;
    // Odd part.
    const z13 = i5 + i3;
    const z10 = i5 - i3;
    const z11 = i1 + i7;
    const z12 = i1 - i7;
    const d7 = z11 + z13;
    const d11 = (z11 - z13) * 1.414213562;
    const z5 = (z10 + z12) * 1.847759065;
    const d10 = 1.0823922 * z12 - z5;
    const d12 = -2.61312593 * z10 + z5;
    const d6 = d12 - d7;
    const d5 = d11 - d6;
    const d4 = d10 + d5;
    ws[o] = e0 + d7;
    ws[o + 7] = e0 - d7;
    ws[o + 1] = e1 + d6;
    ws[o + 6] = e1 - d6;
    ws[o + 2] = e2 + d5;
    ws[o + 5] = e2 - d5;
    ws[o + 4] = e3 + d4;
    ws[o + 3] = e3 - d4;
  }
  for (let x = 0; x < 8; x++) {
    const i0 = ws[x],
      i1 = ws[x + 8],
      i2 = ws[x + 16],
      i3 = ws[x + 24];
    const i4 = ws[x + 32],
      i5 = ws[x + 40],
      i6 = ws[x + 48],
      i7 = ws[x + 56];
    const t10 = i0 + i4;
    const t11 = i0 - i4;
    const t13 = i2 + i6;
    const t12 = (i2 - i6) * 1.414213562 - t13;
    const e0 = t10 + t13;
    const e3 = t10 - t13;
    const e1 = t11 + t12;
    const e2 = t11 - t12;
    const z13 = i5 + i3;
    const z10 = i5 - i3;
    const z11 = i1 + i7;
    const z12 = i1 - i7;
    const d7 = z11 + z13;
    const d11 = (z11 - z13) * 1.414213562;
    const z5 = (z10 + z12) * 1.847759065;
    const d10 = 1.0823922 * z12 - z5;
    const d12 = -2.61312593 * z10 + z5;
    const d6 = d12 - d7;
    const d5 = d11 - d6;
    const d4 = d10 + d5;
    const p = at + x;
    out[p] = sample(e0 + d7);
    out[p + 7 * stride] = sample(e0 - d7);
    out[p + stride] = sample(e1 + d6);
    out[p + 6 * stride] = sample(e1 - d6);
    out[p + 2 * stride] = sample(e2 + d5);
    out[p + 5 * stride] = sample(e2 - d5);
    out[p + 4 * stride] = sample(e3 + d4);
    out[p + 3 * stride] = sample(e3 - d4);
  }
}

/** A level-shifted IDCT output as a sample: rounded, clamped to 0..255. */
function sample(v: number): number {
  return clampSample(v + 128);
}

/** A sample value rounded (half up) and clamped to 0..255, without branching on the rounding. */
export function clampSample(v: number): number {
  const r = ((v + 0.5 + 16384) | 0) - 16384;
  return r < 0 ? 0 : r > 255 ? 255 : r;
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

/** YCbCr → RGB terms per chroma value (JFIF), rounded to integers (libjpeg's jdcolor.c does the same). */
export const CR_R = new Int32Array(256);
export const CB_G = new Int32Array(256);
export const CR_G = new Int32Array(256);
export const CB_B = new Int32Array(256);
for (let v = 0; v < 256; v++) {
  CR_R[v] = Math.round(1.402 * (v - 128));
  CB_G[v] = Math.round(0.344136 * (v - 128));
  CR_G[v] = Math.round(0.714136 * (v - 128));
  CB_B[v] = Math.round(1.772 * (v - 128));
}
/** CLAMP[v + CLAMP_OFFSET] is v clamped to 0..255, for every v the terms above can produce from a sample. */
export const CLAMP_OFFSET = 256;
export const CLAMP = new Uint8Array(768);
for (let i = 0; i < 768; i++) CLAMP[i] = Math.max(0, Math.min(255, i - CLAMP_OFFSET));

export function isDcOnly(coef: Float64Array): boolean {
  for (let k = 1; k < 8; k++) if (coef[k] !== 0) return false;
  return true;
}

export function clamp8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
