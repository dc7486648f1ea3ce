import { CorruptImageError, UnsupportedImageError } from "./errors";
import type { Raster, Rect } from "./raster";

/**
 * A streaming baseline JPEG decoder in plain TypeScript, written for the 128 MB isolate:
 * - it decodes one MCU row at a time, so memory is the output raster plus a strip, never the whole image;
 * - it scales in the DCT domain by 1/2, 1/4 or 1/8 (each block's IDCT yields 4×4, 2×2 or 1×1 samples, equal to the
 *   box average of the full-size block), so a 12 MP photo viewed at 1/4 costs 0.75 MP of output;
 * - it skips the IDCT of blocks outside the requested region and stops after the region's last row;
 * - corrupt input is a thrown CorruptImageError (a JS exception: nothing leaks, unlike a WASM panic).
 * Progressive and arithmetic-coded JPEGs raise UnsupportedImageError (the caller falls back to a guarded decoder).
 */

export type Scale = 1 | 2 | 4 | 8;

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  blocksPerLine: number;
  /** Scaled samples of the current MCU row: (blocksPerLine * n) × (v * n). */
  strip: Uint8Array;
  stripWidth: number;
  dcTable: Huffman | null;
  acTable: Huffman | null;
  pred: number;
}

interface Huffman {
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

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35,
  42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62,
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

/** For scale s, an (8/s)×8 matrix: output sample x = Σ_u M[x][u]·F(u), the mean of the s full-size IDCT samples. */
const IDCT_MATRICES = new Map<number, Float32Array>();
function idctMatrix(s: Scale): Float32Array {
  let m = IDCT_MATRICES.get(s);
  if (m) return m;
  const n = 8 / s;
  m = new Float32Array(n * 8);
  for (let x = 0; x < n; x++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let i = x * s; i < (x + 1) * s; i++) sum += ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * i + 1) * u * Math.PI) / 16);
      const v = sum / s;
      m[x * 8 + u] = Math.abs(v) < 1e-9 ? 0 : v;
    }
  }
  IDCT_MATRICES.set(s, m);
  return m;
}

/** The frequencies a scaled IDCT uses at all (at 1/4 the even ones above 0 average out to exactly zero). */
function usedFrequencies(m: Float32Array, n: number): number {
  let mask = 0;
  for (let x = 0; x < n; x++) for (let u = 0; u < 8; u++) if (m[x * 8 + u] !== 0) mask |= 1 << u;
  return mask;
}

export interface JpegHeader {
  width: number;
  height: number;
  progressive: boolean;
  components: number;
}

/** Reads the frame header only (to decide between this decoder and the fallback). */
export function readJpegHeader(b: Uint8Array): JpegHeader {
  let i = 2;
  if (b[0] !== 0xff || b[1] !== 0xd8) throw new CorruptImageError("not a JPEG (missing SOI)");
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) throw new CorruptImageError("corrupt JPEG: marker expected");
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break;
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2 || i + 2 + len > b.length) break;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (len < 8) break;
      return {
        height: (b[i + 5] << 8) | b[i + 6],
        width: (b[i + 7] << 8) | b[i + 8],
        progressive: marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce,
        components: b[i + 9],
      };
    }
    i += 2 + len;
  }
  throw new CorruptImageError("corrupt JPEG: no frame header");
}

/**
 * Decodes `region` (in scaled coordinates: the scaled image is ceil(W/s) × ceil(H/s)) at scale 1/s into RGBA.
 * Without a region, the whole scaled image.
 */
export function decodeJpeg(b: Uint8Array, scale: Scale = 1, region?: Rect): Raster {
  const quant: (Int32Array | null)[] = [null, null, null, null];
  const dcTables: (Huffman | null)[] = [null, null, null, null];
  const acTables: (Huffman | null)[] = [null, null, null, null];
  let frame: { width: number; height: number; comps: Component[] } | null = null;
  let restartInterval = 0;
  let adobeTransform = -1;
  let i = 2;
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new CorruptImageError("not a JPEG (missing SOI)");

  const u16 = (at: number) => {
    if (at + 1 >= b.length) throw new CorruptImageError("truncated JPEG");
    return (b[at] << 8) | b[at + 1];
  };

  for (;;) {
    if (i + 1 >= b.length) throw new CorruptImageError("truncated JPEG: no image data");
    if (b[i] !== 0xff) throw new CorruptImageError("corrupt JPEG: marker expected");
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) throw new CorruptImageError("corrupt JPEG: end of image before any scan");
    const len = u16(i + 2);
    const end = i + 2 + len;
    if (len < 2 || end > b.length) throw new CorruptImageError("truncated JPEG segment");
    let p = i + 4;
    switch (marker) {
      case 0xdb: // DQT
        while (p < end) {
          const pq = b[p] >> 4;
          const tq = b[p] & 15;
          if (tq > 3 || pq > 1) throw new CorruptImageError("corrupt JPEG: bad quantization table");
          p++;
          const t = new Int32Array(64);
          for (let k = 0; k < 64; k++) {
            if (p + (pq ? 1 : 0) >= end + (pq ? 0 : 1)) throw new CorruptImageError("corrupt JPEG: short quantization table");
            t[ZIGZAG[k]] = pq ? u16(p) : b[p];
            p += pq ? 2 : 1;
          }
          quant[tq] = t;
        }
        break;
      case 0xc4: // DHT
        while (p < end) {
          const tc = b[p] >> 4;
          const th = b[p] & 15;
          if (tc > 1 || th > 3 || p + 17 > end) throw new CorruptImageError("corrupt JPEG: bad Huffman table");
          const counts = b.subarray(p + 1, p + 17);
          let total = 0;
          for (let k = 0; k < 16; k++) total += counts[k];
          if (total > 256 || p + 17 + total > end) throw new CorruptImageError("corrupt JPEG: bad Huffman table");
          const table = buildHuffman(counts, b.subarray(p + 17, p + 17 + total));
          (tc === 0 ? dcTables : acTables)[th] = table;
          p += 17 + total;
        }
        break;
      case 0xdd: // DRI
        restartInterval = u16(p);
        break;
      case 0xee: // APP14 Adobe: tells RGB from YCbCr for 3-component images
        if (len >= 14 && String.fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]) === "Adobe") adobeTransform = b[p + 11];
        break;
      case 0xc0:
      case 0xc1: {
        if (frame) throw new CorruptImageError("corrupt JPEG: two frame headers");
        if (b[p] !== 8) throw new UnsupportedImageError(`${b[p]}-bit JPEG`);
        const height = u16(p + 1);
        const width = u16(p + 3);
        const nc = b[p + 5];
        if (!width || !height) throw new UnsupportedImageError("JPEG without a height in its frame header");
        if (nc !== 1 && nc !== 3) throw new UnsupportedImageError(`JPEG with ${nc} components`);
        if (len < 8 + nc * 3) throw new CorruptImageError("corrupt JPEG: short frame header");
        const comps: Component[] = [];
        for (let k = 0; k < nc; k++) {
          const q = p + 6 + k * 3;
          const h = b[q + 1] >> 4;
          const v = b[q + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4 || b[q + 2] > 3) throw new CorruptImageError("corrupt JPEG: bad sampling factors");
          comps.push({ id: b[q], h, v, tq: b[q + 2], blocksPerLine: 0, strip: new Uint8Array(0), stripWidth: 0, dcTable: null, acTable: null, pred: 0 });
        }
        // A single-component image is coded one block per MCU whatever its sampling factors say.
        if (nc === 1) comps[0].h = comps[0].v = 1;
        frame = { width, height, comps };
        break;
      }
      case 0xda: {
        if (!frame) throw new CorruptImageError("corrupt JPEG: scan before frame header");
        const ns = b[p];
        if (ns !== frame.comps.length) throw new UnsupportedImageError("non-interleaved baseline JPEG");
        for (let k = 0; k < ns; k++) {
          const cid = b[p + 1 + k * 2];
          const tables = b[p + 2 + k * 2];
          const comp = frame.comps.find((c) => c.id === cid);
          if (!comp) throw new CorruptImageError("corrupt JPEG: scan names an unknown component");
          comp.dcTable = dcTables[tables >> 4] ?? null;
          comp.acTable = acTables[tables & 15] ?? null;
          if (!comp.dcTable || !comp.acTable) throw new CorruptImageError("corrupt JPEG: missing Huffman table");
        }
        for (const c of frame.comps) if (!quant[c.tq]) throw new CorruptImageError("corrupt JPEG: missing quantization table");
        return decodeScan(b, end, frame, quant, restartInterval, adobeTransform, scale, region);
      }
      default:
        if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
          throw new UnsupportedImageError("progressive or arithmetic-coded JPEG");
    }
    i = end;
  }
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
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

function decodeScan(
  b: Uint8Array,
  start: number,
  frame: { width: number; height: number; comps: Component[] },
  quant: (Int32Array | null)[],
  restartInterval: number,
  adobeTransform: number,
  s: Scale,
  region?: Rect,
): Raster {
  const { width, height, comps } = frame;
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const mcusPerLine = Math.ceil(width / (8 * hmax));
  const mcuRows = Math.ceil(height / (8 * vmax));
  const n = 8 / s;
  const sw = Math.ceil(width / s);
  const sh = Math.ceil(height / s);
  const r = region ?? { x: 0, y: 0, w: sw, h: sh };
  if (r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x + r.w > sw || r.y + r.h > sh) throw new RangeError("decode region outside the image");
  for (const c of comps) {
    c.blocksPerLine = mcusPerLine * c.h;
    c.stripWidth = c.blocksPerLine * n;
    c.strip = new Uint8Array(c.stripWidth * c.v * n);
    c.pred = 0;
  }
  const out = new Uint8Array(r.w * r.h * 4);
  const outc = new Uint8ClampedArray(out.buffer);
  // Column of each output pixel in each component's strip (chroma is upsampled by repetition).
  const columns = (c: Component | undefined) => {
    const a = new Int32Array(r.w);
    if (c) for (let i = 0; i < r.w; i++) a[i] = (((r.x + i) * c.h) / hmax) | 0;
    return a;
  };
  const xs0 = columns(comps[0]);
  const xs1 = columns(comps[1]);
  const xs2 = columns(comps[2]);
  const m = idctMatrix(s);
  const used = usedFrequencies(m, n);
  const coef = new Float32Array(64);
  const tmp = new Float32Array(8 * n);
  // Blocks whose scaled columns touch the region, per component (in scaled MCU units).
  const mcuW = hmax * n;
  const mcuH = vmax * n;
  const firstMcuX = Math.floor(r.x / mcuW);
  const lastMcuX = Math.floor((r.x + r.w - 1) / mcuW);
  const lastMcuRow = Math.min(mcuRows - 1, Math.floor((r.y + r.h - 1) / mcuH));
  const firstMcuRow = Math.floor(r.y / mcuH);

  // Bit reader over the entropy-coded segment, with 0xFF00 unstuffing; a marker ends the data.
  let pos = start;
  let acc = 0;
  let bits = 0;
  let markerHit = false;
  const fill = () => {
    while (bits <= 24) {
      let byte = 0;
      if (!markerHit) {
        if (pos >= b.length) throw new CorruptImageError("truncated JPEG: image data ends early");
        byte = b[pos];
        if (byte === 0xff) {
          const next = b[pos + 1];
          if (next === 0) pos += 2;
          else if (next === 0xff) {
            pos++;
            continue;
          } else {
            markerHit = true;
            byte = 0;
          }
        } else pos++;
      }
      acc = ((acc << 8) | byte) >>> 0;
      bits += 8;
    }
  };
  let padBits = 0;
  const peek = (n: number) => {
    if (bits < n) fill();
    return (acc >>> (bits - n)) & ((1 << n) - 1);
  };
  const skip = (n: number) => {
    bits -= n;
    if (markerHit) {
      padBits += n;
      // A scan may end a few padded bits early; much more than that is a truncated or corrupt stream.
      if (padBits > 64) throw new CorruptImageError("truncated JPEG: image data ends early");
    }
  };
  const decodeHuff = (t: Huffman): number => {
    const look = t.fast[peek(9)];
    if (look) {
      skip(look >> 8);
      return look & 0xff;
    }
    let code = peek(9);
    let len = 9;
    skip(9);
    while (len < 16) {
      code = (code << 1) | peek(1);
      skip(1);
      len++;
      if (code <= t.maxcode[len]) return t.values[t.valptr[len] + code - t.mincode[len]];
    }
    throw new CorruptImageError("corrupt JPEG: bad Huffman code");
  };
  const receiveExtend = (len: number): number => {
    if (len === 0) return 0;
    if (len > 16) throw new CorruptImageError("corrupt JPEG: bad coefficient size");
    const v = peek(len);
    skip(len);
    return v < 1 << (len - 1) ? v - (1 << len) + 1 : v;
  };

  const decodeBlock = (c: Component, bx: number, by: number, render: boolean) => {
    const q = quant[c.tq]!;
    const t = decodeHuff(c.dcTable!);
    c.pred += receiveExtend(t);
    const ac = c.acTable!;
    const fastAc = ac.fastAc;
    if (!render) {
      for (let k = 1; k < 64; ) {
        const fac = fastAc[peek(9)];
        if (fac) {
          skip(fac & 15);
          k += ((fac >> 4) & 15) + 1;
          continue;
        }
        const rs = decodeHuff(ac);
        const size = rs & 15;
        if (!size) {
          if (rs !== 0xf0) break;
          k += 16;
          continue;
        }
        k += rs >> 4;
        if (k > 63) throw new CorruptImageError("corrupt JPEG: coefficient index out of range");
        if (bits < size) fill();
        skip(size);
        k++;
      }
      return;
    }
    coef.fill(0);
    coef[0] = c.pred * q[0];
    let rowMask = 1; // rows of coefficients holding anything
    for (let k = 1; k < 64; ) {
      const fac = fastAc[peek(9)];
      if (fac) {
        skip(fac & 15);
        k += (fac >> 4) & 15;
        if (k > 63) throw new CorruptImageError("corrupt JPEG: coefficient index out of range");
        const z = ZIGZAG[k];
        coef[z] = (fac >> 12) * q[z];
        rowMask |= 1 << (z >> 3);
        k++;
        continue;
      }
      const rs = decodeHuff(ac);
      const size = rs & 15;
      if (!size) {
        if (rs !== 0xf0) break;
        k += 16;
        continue;
      }
      k += rs >> 4;
      if (k > 63) throw new CorruptImageError("corrupt JPEG: coefficient index out of range");
      const z = ZIGZAG[k];
      coef[z] = receiveExtend(size) * q[z];
      rowMask |= 1 << (z >> 3);
      k++;
    }
    // Separable scaled IDCT: rows (v) first, only those with coefficients; then columns.
    const ox = bx * n;
    const oy = by * n;
    const sw = c.stripWidth;
    // At 1/8 only the DC term survives the averaging.
    if (n === 1 || (rowMask === 1 && isDcOnly(coef))) {
      const val = clamp8(coef[0] / 8 + 128);
      for (let y = 0; y < n; y++) c.strip.fill(val, (oy + y) * sw + ox, (oy + y) * sw + ox + n);
      return;
    }
    const rows = rowMask & used;
    for (let v = 0; v < 8; v++) {
      if (!(rows & (1 << v))) continue;
      const cr = v * 8;
      for (let x = 0; x < n; x++) {
        const mr = x * 8;
        let sum = 0;
        if (used === 255) for (let u = 0; u < 8; u++) sum += m[mr + u] * coef[cr + u];
        else for (let u = 0; u < 8; u++) if (used & (1 << u)) sum += m[mr + u] * coef[cr + u];
        tmp[v * n + x] = sum;
      }
    }
    for (let y = 0; y < n; y++) {
      const mr = y * 8;
      const row = (oy + y) * sw + ox;
      for (let x = 0; x < n; x++) {
        let sum = 0;
        for (let v = 0; v < 8; v++) if (rows & (1 << v)) sum += m[mr + v] * tmp[v * n + x];
        c.strip[row + x] = clamp8(sum + 128);
      }
    }
  };

  let restartsLeft = restartInterval;
  let expectedRst = 0;
  for (let row = 0; row <= lastMcuRow; row++) {
    const renderRow = row >= firstMcuRow;
    for (let mx = 0; mx < mcusPerLine; mx++) {
      if (restartInterval) {
        if (restartsLeft === 0) {
          // Byte-align, then the RSTn marker must be next.
          bits = 0;
          acc = 0;
          padBits = 0;
          while (pos < b.length && b[pos] === 0xff && b[pos + 1] === 0xff) pos++;
          if (b[pos] !== 0xff || b[pos + 1] !== 0xd0 + expectedRst) throw new CorruptImageError("corrupt JPEG: restart marker missing");
          pos += 2;
          markerHit = false;
          expectedRst = (expectedRst + 1) & 7;
          restartsLeft = restartInterval;
          for (const c of comps) c.pred = 0;
        }
        restartsLeft--;
      }
      const render = renderRow && mx >= firstMcuX && mx <= lastMcuX;
      for (const c of comps) {
        for (let by = 0; by < c.v; by++) for (let bx = 0; bx < c.h; bx++) decodeBlock(c, mx * c.h + bx, by, render);
      }
    }
    if (renderRow) emitRows(row);
  }
  return { width: r.w, height: r.h, data: out };

  function emitRows(row: number) {
    const y0 = Math.max(r.y, row * mcuH);
    const y1 = Math.min(r.y + r.h, (row + 1) * mcuH);
    const gray = comps.length === 1;
    const rgb = !gray && adobeTransform === 0;
    const [c0, c1, c2] = comps;
    for (let y = y0; y < y1; y++) {
      const ly = y - row * mcuH; // line within the MCU row, scaled
      let o = ((y - r.y) * r.w) * 4;
      const r0 = ((ly * c0.v) / vmax | 0) * c0.stripWidth;
      if (gray) {
        for (let x = r.x; x < r.x + r.w; x++) {
          const g = c0.strip[r0 + x];
          out[o] = g;
          out[o + 1] = g;
          out[o + 2] = g;
          out[o + 3] = 255;
          o += 4;
        }
        continue;
      }
      const r1 = ((ly * c1.v) / vmax | 0) * c1.stripWidth;
      const r2 = ((ly * c2.v) / vmax | 0) * c2.stripWidth;
      const s0 = c0.strip;
      const s1 = c1.strip;
      const s2 = c2.strip;
      for (let i = 0; i < r.w; i++) {
        const Y = s0[r0 + xs0[i]];
        const cb = s1[r1 + xs1[i]];
        const cr = s2[r2 + xs2[i]];
        if (rgb) {
          out[o] = Y;
          out[o + 1] = cb;
          out[o + 2] = cr;
        } else {
          // The clamped view rounds and clamps on assignment.
          outc[o] = Y + CR_R[cr];
          outc[o + 1] = Y - CB_G[cb] - CR_G[cr];
          outc[o + 2] = Y + CB_B[cb];
        }
        out[o + 3] = 255;
        o += 4;
      }
    }
  }
}

/** YCbCr → RGB terms per chroma value (JFIF). */
const CR_R = new Float32Array(256);
const CB_G = new Float32Array(256);
const CR_G = new Float32Array(256);
const CB_B = new Float32Array(256);
for (let v = 0; v < 256; v++) {
  CR_R[v] = 1.402 * (v - 128);
  CB_G[v] = 0.344136 * (v - 128);
  CR_G[v] = 0.714136 * (v - 128);
  CB_B[v] = 1.772 * (v - 128);
}

function isDcOnly(coef: Float32Array): boolean {
  for (let k = 1; k < 8; k++) if (coef[k] !== 0) return false;
  return true;
}

function clamp8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
}
