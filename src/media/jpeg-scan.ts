import { CorruptImageError } from "./errors";
import {
  CB_B,
  CB_G,
  CLAMP,
  CLAMP_OFFSET,
  CR_G,
  CR_R,
  ZIGZAG,
  clamp8,
  clampSample,
  dequantTable,
  idct8,
  idctMatrix,
  isDcOnly,
  type Huffman,
  type Scale,
} from "./jpeg-tables";
import { EntropyReader, decodeBlockCoefs, predictor } from "./jpeg-huffman";
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
  const out32 = new Uint32Array(out.buffer, out.byteOffset, out.length >> 2);
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
  const coef = new Float64Array(64);
  const tmp = new Float64Array(64);
  const evenRows = new Int32Array(4);
  const oddRows = new Int32Array(4);
  // Dequantization per component; at full scale with the AAN factors and the final 1/8 folded in (idct8 below).
  const qmul = comps.map((c) => dequantTable(quant[c.tq]!, n === 8));
  // The DC-only value of a block: its dequantized DC over 8 (already folded in at full scale).
  const dcScale = n === 8 ? 1 : 1 / 8;
  // Blocks whose scaled columns touch the region, per component (in scaled MCU units).
  const mcuW = hmax * n;
  const mcuH = vmax * n;
  const firstMcuX = Math.floor(r.x / mcuW);
  const lastMcuX = Math.floor((r.x + r.w - 1) / mcuW);
  const lastMcuRow = Math.min(mcuRows - 1, Math.floor((r.y + r.h - 1) / mcuH));
  const firstMcuRow = Math.floor(r.y / mcuH);

  // The entropy-coded data (not used for a progressive image, whose coefficients are already decoded).
  const reader = stored ? null : new EntropyReader(b, start);

  let curRow = 0;
  const decodeBlock = (ci: number, bx: number, by: number, render: boolean) => {
    const c = comps[ci];
    const q = qmul[ci];
    if (stored) {
      // A progressive image: its coefficients are already decoded.
      if (!render) return;
      const blk = stored.coefs[ci];
      const nz = stored.nonZero[ci];
      const o = ((curRow * c.v + by) * c.blocksPerLine + bx) * 64;
      // `coef` is clear (transform zeroes what it reads); only the non-zero AC terms are visited.
      coef[0] = blk[o] * q[0];
      let rowMask = 1;
      for (let w = 0; w < 2; w++) {
        let bits = nz[(o >> 5) + w];
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const z = ZIGZAG[(w << 5) + 31 - Math.clz32(low)];
          coef[z] = blk[o + z] * q[z];
          rowMask |= 1 << (z >> 3);
        }
      }
      transform(c, bx, by, rowMask);
      return;
    }
    reader!.ready();
    // At 1/8 only the DC term is used: the AC terms are skipped over, not stored.
    const rowMask = decodeBlockCoefs(reader!, c.dcTable!, c.acTable!, q, render && n > 1 ? coef : null, c.pred);
    c.pred = predictor();
    if (!render) return;
    if (n === 1) coef[0] = c.pred * q[0];
    transform(c, bx, by, n === 1 ? 1 : rowMask);
  };

  /**
   * The IDCT of `coef` into the component's strip: at full scale libjpeg's float AAN (jidctflt.c); scaled, the
   * (8/s)×8 averaging matrix, separable, over the rows of coefficients that hold anything.
   */
  const transform = (c: Component, bx: number, by: number, rowMask: number) => {
    const ox = bx * n;
    const oy = by * n;
    const sw = c.stripWidth;
    const strip = c.strip;
    // A block with only a DC term is flat (and at 1/8 only the DC term survives the averaging).
    if (n === 1 || (rowMask === 1 && isDcOnly(coef))) {
      const val = clamp8(coef[0] * dcScale + 128);
      for (let y = 0; y < n; y++) {
        const row = (oy + y) * sw + ox;
        for (let x = 0; x < n; x++) strip[row + x] = val;
      }
      if (rowMask === 1) coef[0] = 0;
      else for (let u = 0; u < 64; u++) coef[u] = 0;
      return;
    }
    if (n === 8) {
      idct8(coef, tmp, strip, oy * sw + ox, sw, rowMask);
      return;
    }
    // Scaled: M[n-1-x][u] = (-1)^u · M[x][u], so each pass sums even and odd frequencies once for two outputs.
    // The rows read are zeroed as they are read (the next block needs `coef` clear).
    const half = n >> 1;
    let ne = 0;
    let no = 0;
    for (let v = 0; v < 8; v++) {
      if (!(rowMask & (1 << v))) continue;
      if (v & 1) oddRows[no++] = v;
      else evenRows[ne++] = v;
      const cr = v * 8;
      const c0 = coef[cr];
      const c1 = coef[cr + 1];
      const c2 = coef[cr + 2];
      const c3 = coef[cr + 3];
      const c4 = coef[cr + 4];
      const c5 = coef[cr + 5];
      const c6 = coef[cr + 6];
      const c7 = coef[cr + 7];
      for (let u = cr; u < cr + 8; u++) coef[u] = 0;
      for (let x = 0; x < half; x++) {
        const mr = x * 8;
        const e = m[mr] * c0 + m[mr + 2] * c2 + m[mr + 4] * c4 + m[mr + 6] * c6;
        const o = m[mr + 1] * c1 + m[mr + 3] * c3 + m[mr + 5] * c5 + m[mr + 7] * c7;
        tmp[cr + x] = e + o;
        tmp[cr + n - 1 - x] = e - o;
      }
    }
    for (let y = 0; y < half; y++) {
      const mr = y * 8;
      const top = (oy + y) * sw + ox;
      const bottom = (oy + n - 1 - y) * sw + ox;
      for (let x = 0; x < n; x++) {
        let e = 128;
        for (let k = 0; k < ne; k++) e += m[mr + evenRows[k]] * tmp[evenRows[k] * 8 + x];
        let o = 0;
        for (let k = 0; k < no; k++) o += m[mr + oddRows[k]] * tmp[oddRows[k] * 8 + x];
        strip[top + x] = clampSample(e + o);
        strip[bottom + x] = clampSample(e - o);
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
          // The data before the restart ends at a marker, which must be the expected RSTn. The reader has reached
          // it: each block starts with HEADROOM (512) bytes buffered or the marker in view, and a block reads at most
          // ~260, so a valid interval's last block always saw the marker (a test moves chunk ends everywhere).
          let p = reader!.markerAt;
          while (p >= 0 && p < b.length && b[p] === 0xff && b[p + 1] === 0xff) p++;
          if (!reader!.ended || b[p] !== 0xff || b[p + 1] !== 0xd0 + expectedRst)
            throw new CorruptImageError("corrupt JPEG: restart marker missing");
          reader!.restart(p + 2);
          expectedRst = (expectedRst + 1) & 7;
          restartsLeft = restartInterval;
          for (const c of comps) c.pred = 0;
        }
        restartsLeft--;
      }
      const render = renderRow && mx >= firstMcuX && mx <= lastMcuX;
      for (let ci = 0; ci < comps.length; ci++) {
        const c = comps[ci];
        for (let by = 0; by < c.v; by++) for (let bx = 0; bx < c.h; bx++) decodeBlock(ci, mx * c.h + bx, by, render);
      }
    }
    if (renderRow) emitRows(row);
  }
  if (reader?.ended) reader.checkEnd();
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
      if (rgb) {
        for (let i = 0; i < r.w; i++) {
          out[o] = s0[r0 + xs0[i]];
          out[o + 1] = s1[r1 + xs1[i]];
          out[o + 2] = s2[r2 + xs2[i]];
          out[o + 3] = 255;
          o += 4;
        }
      } else {
        // Whole pixels at once (little-endian RGBA), clamped through a table.
        let p = o >> 2;
        for (let i = 0; i < r.w; i++) {
          const Y = s0[r0 + xs0[i]] + CLAMP_OFFSET;
          const cb = s1[r1 + xs1[i]];
          const cr = s2[r2 + xs2[i]];
          out32[p++] =
            0xff000000 | (CLAMP[Y + CB_B[cb]] << 16) | (CLAMP[Y - CB_G[cb] - CR_G[cr]] << 8) | CLAMP[Y + CR_R[cr]];
        }
      }
      rowDone(y);
    }
  }
}
