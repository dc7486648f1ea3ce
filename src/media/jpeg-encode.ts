import { ZIGZAG } from "./jpeg-tables";
import type { Raster } from "./raster";

/**
 * A baseline JPEG encoder (YCbCr 4:2:0, the standard Annex K tables scaled by quality as libjpeg scales them, float
 * AAN forward DCT), in TypeScript on the JS heap. It replaced photon's encoder, which took 27–37 ms for a 0.6–0.75 MP
 * result and grew photon's never-shrinking WASM memory by 4 bytes per output pixel and more (see BENCHMARKS.md). It
 * works one 16-row MCU band at a time: besides the RGBA input it holds one band of samples and the output bytes.
 * Alpha is ignored (the caller composites over white first).
 */
export function encodeJpeg(r: Raster, quality: number): Uint8Array {
  const { width: w, height: h, data } = r;
  if (w < 1 || h < 1 || w > 65535 || h > 65535 || data.length !== w * h * 4) throw new RangeError("bad raster");
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const lumaQ = scaledQuant(LUMA_QUANT, q);
  const chromaQ = scaledQuant(CHROMA_QUANT, q);
  const lumaDiv = divisors(lumaQ);
  const chromaDiv = divisors(chromaQ);

  const out = new ByteWriter(Math.max(4096, (w * h) >> 1));
  out.bytes(HEADER_JFIF);
  out.marker(0xdb, 2 + 2 * 65);
  out.byte(0);
  for (let k = 0; k < 64; k++) out.byte(lumaQ[ZIGZAG[k]]);
  out.byte(1);
  for (let k = 0; k < 64; k++) out.byte(chromaQ[ZIGZAG[k]]);
  out.marker(0xc0, 17);
  out.bytes([8, h >> 8, h & 255, w >> 8, w & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  out.marker(0xc4, 2 + 4 * 17 + 12 + 12 + 162 + 162);
  for (const [cls, t] of [
    [0x00, DC_LUMA],
    [0x10, AC_LUMA],
    [0x01, DC_CHROMA],
    [0x11, AC_CHROMA],
  ] as const) {
    out.byte(cls);
    out.bytes(t.counts);
    out.bytes(t.values);
  }
  out.marker(0xda, 12);
  out.bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  // One MCU row: 16 rows of Y, 8 of Cb and Cr, level-shifted, padded to whole MCUs by repeating the edge.
  const mcusX = Math.ceil(w / 16);
  const yStride = mcusX * 16;
  const cStride = mcusX * 8;
  const Y = new Float32Array(yStride * 16);
  const CB = new Float32Array(cStride * 8);
  const CR = new Float32Array(cStride * 8);
  const blk = new Float64Array(64);
  const bits = new BitWriter(out);
  const dcPred = [0, 0, 0];
  for (let my = 0; my < h; my += 16) {
    for (let yy = 0; yy < 16; yy++) {
      const sy = Math.min(h - 1, my + yy);
      const row = sy * w * 4;
      const o = yy * yStride;
      for (let x = 0; x < yStride; x++) {
        const i = row + (x < w ? x : w - 1) * 4;
        Y[o + x] = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2] - 128;
      }
    }
    for (let cy = 0; cy < 8; cy++) {
      const r0 = Math.min(h - 1, my + 2 * cy) * w * 4;
      const r1 = Math.min(h - 1, my + 2 * cy + 1) * w * 4;
      const o = cy * cStride;
      for (let cx = 0; cx < cStride; cx++) {
        const x0 = Math.min(w - 1, 2 * cx) * 4;
        const x1 = Math.min(w - 1, 2 * cx + 1) * 4;
        // The mean of the 2×2 pixels, converted once (the conversion is linear).
        const R = (data[r0 + x0] + data[r0 + x1] + data[r1 + x0] + data[r1 + x1]) * 0.25;
        const G = (data[r0 + x0 + 1] + data[r0 + x1 + 1] + data[r1 + x0 + 1] + data[r1 + x1 + 1]) * 0.25;
        const B = (data[r0 + x0 + 2] + data[r0 + x1 + 2] + data[r1 + x0 + 2] + data[r1 + x1 + 2]) * 0.25;
        CB[o + cx] = -0.168735892 * R - 0.331264108 * G + 0.5 * B;
        CR[o + cx] = 0.5 * R - 0.418687589 * G - 0.081312411 * B;
      }
    }
    for (let mx = 0; mx < mcusX; mx++) {
      const yo = mx * 16;
      dcPred[0] = encodeBlock(bits, Y, yo, yStride, blk, lumaDiv, dcPred[0], DC_LUMA, AC_LUMA);
      dcPred[0] = encodeBlock(bits, Y, yo + 8, yStride, blk, lumaDiv, dcPred[0], DC_LUMA, AC_LUMA);
      dcPred[0] = encodeBlock(bits, Y, yo + 8 * yStride, yStride, blk, lumaDiv, dcPred[0], DC_LUMA, AC_LUMA);
      dcPred[0] = encodeBlock(bits, Y, yo + 8 * yStride + 8, yStride, blk, lumaDiv, dcPred[0], DC_LUMA, AC_LUMA);
      dcPred[1] = encodeBlock(bits, CB, mx * 8, cStride, blk, chromaDiv, dcPred[1], DC_CHROMA, AC_CHROMA);
      dcPred[2] = encodeBlock(bits, CR, mx * 8, cStride, blk, chromaDiv, dcPred[2], DC_CHROMA, AC_CHROMA);
    }
  }
  bits.flush();
  out.bytes([0xff, 0xd9]);
  return out.result();
}

interface HuffTable {
  counts: Uint8Array;
  values: Uint8Array;
  /** Code and length per symbol. */
  code: Uint16Array;
  size: Uint8Array;
}

function huffTable(counts: number[], values: number[]): HuffTable {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let j = 0; j < counts[len - 1]; j++) {
      code[values[k]] = c++;
      size[values[k]] = len;
      k++;
    }
    c <<= 1;
  }
  return { counts: Uint8Array.from(counts), values: Uint8Array.from(values), code, size };
}

/** ITU T.81 Annex K.3: the typical Huffman tables (what libjpeg writes without optimize_coding). */
const DC_LUMA = huffTable([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
const DC_CHROMA = huffTable([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
const AC_LUMA = huffTable(
  [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14,
    0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09,
    0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65,
    0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
    0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
);
const AC_CHROMA = huffTable(
  [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32,
    0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16,
    0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39,
    0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86,
    0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8,
    0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
    0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
  ],
);

/** ITU T.81 Annex K.1, natural (row-major) order. */
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17,
  18,
  24,
  47,
  99,
  99,
  99,
  99,
  18,
  21,
  26,
  66,
  99,
  99,
  99,
  99,
  24,
  26,
  56,
  99,
  99,
  99,
  99,
  99,
  47,
  66,
  99,
  99,
  99,
  99,
  99,
  99,
  ...new Array<number>(32).fill(99),
];

/** libjpeg's jpeg_quality_scaling, clamped to baseline's 1..255. */
function scaledQuant(base: number[], quality: number): Uint8Array {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - quality * 2;
  return Uint8Array.from(base, (v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}

const AAN = [1, 1.387039845, 1.306562965, 1.175875602, 1, 0.785694958, 0.5411961, 0.275899379];

/** Per coefficient (natural order): 1 / (quantizer · AAN row and column scale · 8), as libjpeg's float path. */
function divisors(quant: Uint8Array): Float32Array {
  const d = new Float32Array(64);
  for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) d[v * 8 + u] = 1 / (quant[v * 8 + u] * AAN[v] * AAN[u] * 8);
  return d;
}

/** Forward DCT (float AAN, as libjpeg's jfdctflt.c), quantization and Huffman coding of one 8×8 block. */
function encodeBlock(
  bw: BitWriter,
  plane: Float32Array,
  at: number,
  stride: number,
  b: Float64Array,
  div: Float32Array,
  pred: number,
  dc: HuffTable,
  ac: HuffTable,
): number {
  // Rows, then columns: the float AAN forward DCT, written out twice (a helper taking the eight values as
  // arguments is not inlined by V8 and boxes every one of them).
  for (let y = 0; y < 8; y++) {
    const p = at + y * stride;
    const o = y * 8;
    const t0 = plane[p] + plane[p + 7];
    const t7 = plane[p] - plane[p + 7];
    const t1 = plane[p + 1] + plane[p + 6];
    const t6 = plane[p + 1] - plane[p + 6];
    const t2 = plane[p + 2] + plane[p + 5];
    const t5 = plane[p + 2] - plane[p + 5];
    const t3 = plane[p + 3] + plane[p + 4];
    const t4 = plane[p + 3] - plane[p + 4];
    const e10 = t0 + t3;
    const e13 = t0 - t3;
    const e11 = t1 + t2;
    const e12 = t1 - t2;
    b[o] = e10 + e11;
    b[o + 4] = e10 - e11;
    const z1 = (e12 + e13) * 0.707106781;
    b[o + 2] = e13 + z1;
    b[o + 6] = e13 - z1;
    const o10 = t4 + t5;
    const o11 = t5 + t6;
    const o12 = t6 + t7;
    const z5 = (o10 - o12) * 0.382683433;
    const z2 = 0.5411961 * o10 + z5;
    const z4 = 1.306562965 * o12 + z5;
    const z3 = o11 * 0.707106781;
    const z11 = t7 + z3;
    const z13 = t7 - z3;
    b[o + 5] = z13 + z2;
    b[o + 3] = z13 - z2;
    b[o + 1] = z11 + z4;
    b[o + 7] = z11 - z4;
  }
  for (let x = 0; x < 8; x++) {
    const t0 = b[x] + b[x + 56];
    const t7 = b[x] - b[x + 56];
    const t1 = b[x + 8] + b[x + 48];
    const t6 = b[x + 8] - b[x + 48];
    const t2 = b[x + 16] + b[x + 40];
    const t5 = b[x + 16] - b[x + 40];
    const t3 = b[x + 24] + b[x + 32];
    const t4 = b[x + 24] - b[x + 32];
    const e10 = t0 + t3;
    const e13 = t0 - t3;
    const e11 = t1 + t2;
    const e12 = t1 - t2;
    b[x] = e10 + e11;
    b[x + 32] = e10 - e11;
    const z1 = (e12 + e13) * 0.707106781;
    b[x + 16] = e13 + z1;
    b[x + 48] = e13 - z1;
    const o10 = t4 + t5;
    const o11 = t5 + t6;
    const o12 = t6 + t7;
    const z5 = (o10 - o12) * 0.382683433;
    const z2 = 0.5411961 * o10 + z5;
    const z4 = 1.306562965 * o12 + z5;
    const z3 = o11 * 0.707106781;
    const z11 = t7 + z3;
    const z13 = t7 - z3;
    b[x + 40] = z13 + z2;
    b[x + 24] = z13 - z2;
    b[x + 8] = z11 + z4;
    b[x + 56] = z11 - z4;
  }
  // Quantize in zigzag order, rounding by an offset truncation: branch-free (the sign of a coefficient is a coin
  // toss, and a branch on it cost more than the DCT). |v| stays far below the offset: a coefficient is at most
  // 1024 / quantizer in magnitude.
  for (let k = 0; k < 64; k++) {
    const z = ZZ[k];
    let r = ((b[z] * div[z] + 16384.5) | 0) - 16384;
    if (r > 1023) r = 1023;
    else if (r < -1023) r = -1023;
    qz[k] = r;
  }
  let last = 63;
  while (last > 0 && qz[last] === 0) last--;
  const dcv = qz[0];
  const diff = dcv - pred;
  const dn = diff === 0 ? 0 : 32 - Math.clz32(diff < 0 ? -diff : diff);
  bw.put(dc.code[dn], dc.size[dn]);
  if (dn) bw.put(diff < 0 ? diff + (1 << dn) - 1 : diff, dn);
  let run = 0;
  const acCode = ac.code;
  const acSize = ac.size;
  for (let k = 1; k <= last; k++) {
    const v = qz[k];
    if (v === 0) {
      run++;
      continue;
    }
    while (run > 15) {
      bw.put(acCode[0xf0], acSize[0xf0]);
      run -= 16;
    }
    const n = 32 - Math.clz32(v < 0 ? -v : v);
    const sym = (run << 4) | n;
    bw.put(acCode[sym], acSize[sym]);
    bw.put(v < 0 ? v + (1 << n) - 1 : v, n);
    run = 0;
  }
  if (last < 63) bw.put(acCode[0], acSize[0]);
  return dcv;
}

const ZZ = Int32Array.from(ZIGZAG.subarray(0, 64));
const qz = new Int32Array(64);

const HEADER_JFIF = [
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
  0x00,
];

class ByteWriter {
  buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  /** Room for `n` more bytes. */
  reserve(n: number) {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  byte(v: number) {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }
  bytes(vs: ArrayLike<number>) {
    this.reserve(vs.length);
    for (let i = 0; i < vs.length; i++) this.buf[this.pos++] = vs[i];
  }
  marker(code: number, length: number) {
    this.bytes([0xff, code, length >> 8, length & 255]);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Entropy-coded bits, MSB first, with 0xFF stuffed by 0x00. */
class BitWriter {
  acc = 0;
  n = 0;
  constructor(private out: ByteWriter) {}
  /** `size` ≤ 16 bits of `code`. */
  put(code: number, size: number) {
    this.acc = (this.acc << size) | code;
    this.n += size;
    if (this.n < 8) return;
    const out = this.out;
    if (out.pos + 8 > out.buf.length) out.reserve(8);
    const buf = out.buf;
    while (this.n >= 8) {
      this.n -= 8;
      const byte = (this.acc >>> this.n) & 0xff;
      buf[out.pos++] = byte;
      if (byte === 0xff) buf[out.pos++] = 0;
    }
    this.acc &= (1 << this.n) - 1;
  }
  /** Pads the last byte with 1 bits. */
  flush() {
    if (this.n > 0) this.put((1 << (8 - this.n)) - 1, 8 - this.n);
  }
}
