import { CorruptImageError } from "./errors";
import {
  CB_B,
  CB_G,
  CR_G,
  CR_R,
  ZIGZAG,
  clamp8,
  idctMatrix,
  isDcOnly,
  usedFrequencies,
  type Huffman,
  type Scale,
} from "./jpeg-tables";
import type { ProgressiveFrame } from "./jpeg-progressive";
import type { Raster, Rect } from "./raster";

/** Receives the decoded rows band by band (the band's memory is reused for the next one: copy what you keep). */
export interface BandSink {
  rows: number;
  emit(band: Raster, y0: number): void;
}

/** A frame component, with the strip of scaled samples of the MCU row being decoded. */
export interface Component {
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

/**
 * The entropy-coded data of one interleaved baseline scan, decoded MCU row by MCU row into `region` (scaled
 * coordinates) at 1/s: blocks outside the region are entropy-decoded but not transformed, rows after it not read.
 */
export function decodeScan(
  b: Uint8Array,
  start: number,
  frame: { width: number; height: number; comps: Component[] },
  quant: (Int32Array | null)[],
  restartInterval: number,
  adobeTransform: number,
  s: Scale,
  region?: Rect,
  stored?: ProgressiveFrame,
  bands?: BandSink,
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
  if (r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x + r.w > sw || r.y + r.h > sh)
    throw new RangeError("decode region outside the image");
  for (const c of comps) {
    c.blocksPerLine = mcusPerLine * c.h;
    c.stripWidth = c.blocksPerLine * n;
    c.strip = new Uint8Array(c.stripWidth * c.v * n);
    c.pred = 0;
  }
  // With a band sink, `out` holds one band of rows at a time and is handed over as each band completes.
  const bandRows = bands ? Math.max(1, Math.min(bands.rows, r.h)) : r.h;
  let bandStart = r.y;
  const out = new Uint8Array(r.w * bandRows * 4);
  const outc = new Uint8ClampedArray(out.buffer);
  const rowDone = (y: number) => {
    if (!bands || (y + 1 - bandStart < bandRows && y + 1 < r.y + r.h)) return;
    const h = y + 1 - bandStart;
    bands.emit({ width: r.w, height: h, data: out.subarray(0, h * r.w * 4) }, bandStart);
    bandStart = y + 1;
  };
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

  let curRow = 0;
  const decodeBlock = (c: Component, bx: number, by: number, render: boolean) => {
    const q = quant[c.tq]!;
    if (stored) {
      // A progressive image: its coefficients are already decoded.
      if (!render) return;
      const blk = stored.coefs[comps.indexOf(c)];
      const o = ((curRow * c.v + by) * c.blocksPerLine + bx) * 64;
      coef.fill(0);
      let rowMask = 1;
      for (let z = 0; z < 64; z++) {
        const v = blk[o + z];
        if (v) {
          coef[z] = v * q[z];
          rowMask |= 1 << (z >> 3);
        }
      }
      transform(c, bx, by, rowMask);
      return;
    }
    const t = decodeHuff(c.dcTable!);
    c.pred += receiveExtend(t);
    const ac = c.acTable!;
    const fastAc = ac.fastAc;
    if (!render) {
      for (let k = 1; k < 64;) {
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
    for (let k = 1; k < 64;) {
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
    transform(c, bx, by, rowMask);
  };

  /** Separable scaled IDCT of `coef` into the component's strip: rows (v) with coefficients first, then columns. */
  const transform = (c: Component, bx: number, by: number, rowMask: number) => {
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
  for (let row = stored ? firstMcuRow : 0; row <= lastMcuRow; row++) {
    curRow = row;
    const renderRow = row >= firstMcuRow;
    for (let mx = 0; mx < mcusPerLine; mx++) {
      if (restartInterval && !stored) {
        if (restartsLeft === 0) {
          // Byte-align, then the RSTn marker must be next.
          bits = 0;
          acc = 0;
          padBits = 0;
          while (pos < b.length && b[pos] === 0xff && b[pos + 1] === 0xff) pos++;
          if (b[pos] !== 0xff || b[pos + 1] !== 0xd0 + expectedRst)
            throw new CorruptImageError("corrupt JPEG: restart marker missing");
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
  return bands ? { width: r.w, height: 0, data: new Uint8Array(0) } : { width: r.w, height: r.h, data: out };

  function emitRows(row: number) {
    const y0 = Math.max(r.y, row * mcuH);
    const y1 = Math.min(r.y + r.h, (row + 1) * mcuH);
    const gray = comps.length === 1;
    const rgb = !gray && adobeTransform === 0;
    const [c0, c1, c2] = comps;
    for (let y = y0; y < y1; y++) {
      const ly = y - row * mcuH; // line within the MCU row, scaled
      let o = (y - bandStart) * r.w * 4;
      const r0 = (((ly * c0.v) / vmax) | 0) * c0.stripWidth;
      if (gray) {
        for (let x = r.x; x < r.x + r.w; x++) {
          const g = c0.strip[r0 + x];
          out[o] = g;
          out[o + 1] = g;
          out[o + 2] = g;
          out[o + 3] = 255;
          o += 4;
        }
        rowDone(y);
        continue;
      }
      const r1 = (((ly * c1.v) / vmax) | 0) * c1.stripWidth;
      const r2 = (((ly * c2.v) / vmax) | 0) * c2.stripWidth;
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
      rowDone(y);
    }
  }
}
