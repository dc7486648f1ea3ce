import { Unzlib } from "fflate";
import { CorruptImageError, ImageTooLargeError, UnsupportedImageError } from "./errors";
import { LIMITS } from "./limits";
import type { Raster, Rect } from "./raster";

/**
 * A streaming PNG decoder (non-interlaced, every colour type and bit depth): IDAT data is inflated and unfiltered
 * one scanline at a time and box-averaged by `scale` into the requested region, so memory is the output plus two
 * scanlines. Decoding stops after the region's last row. Corrupt input throws CorruptImageError.
 */
export function decodePng(b: Uint8Array, scale = 1, region?: Rect): Raster {
  if (b.length < 33 || b[0] !== 0x89 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47)
    throw new CorruptImageError("not a PNG");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let ctype = 0;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  let inflater: Unzlib | null = null;
  let sawEnd = false;

  // Row assembly and output state, set up on IHDR.
  let channels = 0;
  let rowBytes = 0;
  let bpp = 0;
  let cur = new Uint8Array(0);
  let prev = new Uint8Array(0);
  let filled = 0;
  let y = 0;
  let done = false;
  let r: Rect = { x: 0, y: 0, w: 0, h: 0 };
  let out = new Uint8Array(0);
  let acc = new Float64Array(0);
  let counts = new Int32Array(0);
  const rgba = () => new Uint8Array(width * 4);
  let line = new Uint8Array(0);

  const onRow = () => {
    const filter = cur[0];
    const row = cur.subarray(1);
    const prevRow = prev.subarray(1);
    unfilter(filter, row, prevRow, bpp);
    const oy = Math.floor(y / scale);
    if (oy >= r.y && oy < r.y + r.h) {
      expand(row, line);
      const x0 = r.x * scale;
      for (let ox = 0; ox < r.w; ox++) {
        const sx0 = x0 + ox * scale;
        const sx1 = Math.min(width, sx0 + scale);
        // Colour weighted by alpha (premultiplied), so a transparent pixel's hidden colour adds nothing.
        let a0 = 0,
          a1 = 0,
          a2 = 0,
          a3 = 0;
        for (let sx = sx0; sx < sx1; sx++) {
          const k = sx * 4;
          const a = line[k + 3];
          a0 += line[k] * a;
          a1 += line[k + 1] * a;
          a2 += line[k + 2] * a;
          a3 += a;
        }
        const k = ox * 4;
        acc[k] += a0;
        acc[k + 1] += a1;
        acc[k + 2] += a2;
        acc[k + 3] += a3;
        counts[ox] += sx1 - sx0;
      }
      if ((y + 1) % scale === 0 || y + 1 === height) {
        const base = (oy - r.y) * r.w * 4;
        for (let ox = 0; ox < r.w; ox++) {
          const k = ox * 4;
          const alpha = acc[k + 3];
          const o = base + k;
          out[o] = alpha ? Math.round(acc[k] / alpha) : 0;
          out[o + 1] = alpha ? Math.round(acc[k + 1] / alpha) : 0;
          out[o + 2] = alpha ? Math.round(acc[k + 2] / alpha) : 0;
          out[o + 3] = Math.round(alpha / counts[ox]);
        }
        acc.fill(0);
        counts.fill(0);
        if (oy === r.y + r.h - 1) done = true;
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
    filled = 0;
    y++;
  };

  // tRNS for grey and RGB (PNG §11.3.2.1): one colour, as 16-bit samples, is fully transparent; its sample values
  // are compared at the image's bit depth (the raw sample, before scaling to 8 bits).
  let keyGray = -1;
  let keyR = -1;
  let keyG = -1;
  let keyB = -1;
  const sample = (row: Uint8Array, i: number) => (depth === 16 ? (row[i] << 8) | row[i + 1] : row[i]);

  const expand = (row: Uint8Array, o: Uint8Array) => {
    for (let x = 0; x < width; x++) {
      let R: number,
        G: number,
        B: number,
        A = 255;
      if (depth === 8 || depth === 16) {
        const step = depth === 16 ? 2 : 1;
        const i = x * channels * step;
        if (ctype === 0) {
          R = G = B = row[i];
          if (keyGray >= 0 && sample(row, i) === keyGray) A = 0;
        } else if (ctype === 2) {
          ((R = row[i]), (G = row[i + step]), (B = row[i + 2 * step]));
          if (
            keyR >= 0 &&
            sample(row, i) === keyR &&
            sample(row, i + step) === keyG &&
            sample(row, i + 2 * step) === keyB
          )
            A = 0;
        } else if (ctype === 3) {
          const e = row[i];
          ({ R, G, B, A } = paletteEntry(e));
        } else if (ctype === 4) ((R = G = B = row[i]), (A = row[i + step]));
        else ((R = row[i]), (G = row[i + step]), (B = row[i + 2 * step]), (A = row[i + 3 * step]));
      } else {
        // 1, 2, 4 bits: grey or palette only.
        const bit = x * depth;
        const v = (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
        if (ctype === 3) ({ R, G, B, A } = paletteEntry(v));
        else {
          R = G = B = Math.round((v * 255) / ((1 << depth) - 1));
          if (v === keyGray) A = 0;
        }
      }
      const k = x * 4;
      o[k] = R;
      o[k + 1] = G;
      o[k + 2] = B;
      o[k + 3] = A;
    }
  };

  const paletteEntry = (e: number) => {
    if (!palette || e * 3 + 2 >= palette.length) throw new CorruptImageError("corrupt PNG: palette index out of range");
    return {
      R: palette[e * 3],
      G: palette[e * 3 + 1],
      B: palette[e * 3 + 2],
      A: trns && e < trns.length ? trns[e] : 255,
    };
  };

  const onData = (chunk: Uint8Array) => {
    let i = 0;
    while (i < chunk.length && !done) {
      if (y >= height) throw new CorruptImageError("corrupt PNG: more image data than rows");
      const n = Math.min(rowBytes - filled, chunk.length - i);
      cur.set(chunk.subarray(i, i + n), filled);
      filled += n;
      i += n;
      if (filled === rowBytes) onRow();
    }
  };

  while (!done) {
    if (p + 8 > b.length) break;
    const len = dv.getUint32(p);
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    const data = p + 8;
    const truncated = len > 0x7fffffff || data + len + 4 > b.length;
    // A cut-off IDAT still feeds the rows it holds: a region above the damage decodes, anything else is corrupt.
    if (truncated && type !== "IDAT") throw new CorruptImageError("truncated PNG chunk");
    if (type === "IHDR") {
      if (len < 13) throw new CorruptImageError("corrupt PNG header");
      width = dv.getUint32(data);
      height = dv.getUint32(data + 4);
      depth = b[data + 8];
      ctype = b[data + 9];
      if (b[data + 12] !== 0) throw new UnsupportedImageError("interlaced PNG");
      channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[ctype] ?? 0;
      const okDepth = ctype === 0 ? [1, 2, 4, 8, 16] : ctype === 3 ? [1, 2, 4, 8] : [8, 16];
      if (!channels || !okDepth.includes(depth) || !width || !height) throw new CorruptImageError("corrupt PNG header");
      // Rows are buffered at full width: bound it whatever the caller checked.
      if (width > LIMITS.maxSide || height > LIMITS.maxSide || width * height > LIMITS.maxSourcePixels)
        throw new ImageTooLargeError(
          `PNG of ${width}×${height} is too large: the limit is ${LIMITS.maxSide} pixels a side`,
        );
      rowBytes = Math.ceil((width * channels * depth) / 8) + 1;
      bpp = Math.max(1, (channels * depth) >> 3);
      cur = new Uint8Array(rowBytes);
      prev = new Uint8Array(rowBytes);
      line = rgba();
      const sw = Math.ceil(width / scale);
      const sh = Math.ceil(height / scale);
      r = region ?? { x: 0, y: 0, w: sw, h: sh };
      if (r.w <= 0 || r.h <= 0 || r.x < 0 || r.y < 0 || r.x + r.w > sw || r.y + r.h > sh)
        throw new RangeError("decode region outside the image");
      out = new Uint8Array(r.w * r.h * 4);
      acc = new Float64Array(r.w * 4);
      counts = new Int32Array(r.w);
    } else if (type === "PLTE") palette = b.slice(data, data + len);
    else if (type === "tRNS") {
      trns = b.slice(data, data + len);
      if (ctype === 0 && len >= 2) keyGray = (trns[0] << 8) | trns[1];
      if (ctype === 2 && len >= 6)
        [keyR, keyG, keyB] = [(trns[0] << 8) | trns[1], (trns[2] << 8) | trns[3], (trns[4] << 8) | trns[5]];
    } else if (type === "IDAT") {
      if (!width) throw new CorruptImageError("corrupt PNG: image data before header");
      inflater ??= new Unzlib((chunk) => onData(chunk));
      try {
        inflater.push(b.subarray(data, Math.min(b.length, data + len)));
      } catch (e) {
        if (e instanceof CorruptImageError) throw e;
        throw new CorruptImageError(`corrupt PNG data: ${(e as Error).message}`);
      }
      if (truncated) break;
    } else if (type === "IEND") {
      sawEnd = true;
      break;
    }
    p = data + len + 4;
  }
  if (!done && inflater && sawEnd) {
    try {
      inflater.push(new Uint8Array(0), true);
    } catch (e) {
      if (!(e instanceof CorruptImageError)) throw new CorruptImageError(`corrupt PNG data: ${(e as Error).message}`);
      throw e;
    }
  }
  if (!done) throw new CorruptImageError(width ? "truncated PNG: image data ends early" : "corrupt PNG: no header");
  return { width: r.w, height: r.h, data: out };
}

function unfilter(filter: number, row: Uint8Array, prev: Uint8Array, bpp: number) {
  const n = row.length;
  switch (filter) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 255;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = (row[i] + prev[i]) & 255;
      return;
    case 3:
      for (let i = 0; i < n; i++) row[i] = (row[i] + (((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        const b = prev[i];
        const c = i >= bpp ? prev[i - bpp] : 0;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[i] = (row[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default:
      throw new CorruptImageError("corrupt PNG: unknown row filter");
  }
}
