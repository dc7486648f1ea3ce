import { zlibSync } from "fflate";
import { encodeJpeg } from "../../src/media/jpeg-encode";
import type { Raster } from "../../src/media/raster";

/** Small images built byte by byte, so each test states exactly the file it sends. */

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = crcTable[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function concatBytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let off = 0;
  for (const a of arrs) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const body = concatBytes(
    [...type].map((c) => c.charCodeAt(0)),
    data,
  );
  const n = data.length;
  const c = crc32(body);
  return concatBytes([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255], body, [
    c >>> 24,
    (c >> 16) & 255,
    (c >> 8) & 255,
    c & 255,
  ]);
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A non-interlaced PNG: `samples(x, y)` gives the raw samples of a pixel at the image's bit depth (one for grey
 * and palette, two for grey+alpha, three for RGB, four for RGBA), filter 0 on every row. `after` is appended
 * after IEND (trailing bytes, as some tools write).
 */
export function buildPng(
  width: number,
  height: number,
  ctype: 0 | 2 | 3 | 4 | 6,
  depth: 1 | 2 | 4 | 8 | 16,
  samples: (x: number, y: number) => number[],
  opts: { palette?: number[]; trns?: number[]; after?: Uint8Array } = {},
): Uint8Array {
  const ch = CHANNELS[ctype];
  const rowBytes = Math.ceil((width * ch * depth) / 8);
  const raw = new Uint8Array(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    let bit = 0;
    for (let x = 0; x < width; x++)
      for (const v of samples(x, y)) {
        if (depth === 16) {
          row[bit >> 3] = v >> 8;
          row[(bit >> 3) + 1] = v & 255;
        } else if (depth === 8) row[bit >> 3] = v;
        else row[bit >> 3] |= v << (8 - depth - (bit & 7));
        bit += depth;
      }
  }
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, ctype, 0, 0, 0], 8);
  return concatBytes(
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    chunk("IHDR", ihdr),
    opts.palette ? chunk("PLTE", new Uint8Array(opts.palette)) : [],
    opts.trns ? chunk("tRNS", new Uint8Array(opts.trns)) : [],
    chunk("IDAT", zlibSync(raw)),
    chunk("IEND", new Uint8Array(0)),
    opts.after ?? [],
  );
}

/** An RGBA raster from a function of the pixel. */
export function raster(width: number, height: number, px: (x: number, y: number) => number[]): Raster {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const [r, g, b, a = 255] = px(x, y);
      data.set([r, g, b, a], (y * width + x) * 4);
    }
  return { width, height, data };
}

/** A baseline JPEG of `r` (our encoder) with `segments` (whole marker segments) inserted right after SOI. */
export function buildJpeg(r: Raster, segments: Uint8Array[] = [], quality = 95): Uint8Array {
  const j = encodeJpeg(r, quality);
  return concatBytes(j.subarray(0, 2), ...segments, j.subarray(2));
}

/** A marker segment: FF, marker, 16-bit length, payload. */
export function segment(marker: number, payload: Uint8Array): Uint8Array {
  const n = payload.length + 2;
  return concatBytes([0xff, marker, n >> 8, n & 255], payload);
}

/** An APP1 Exif segment whose IFD0 holds only Orientation = `o`, in either byte order. */
export function exifSegment(o: number, littleEndian = false): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 + 4);
  const dv = new DataView(tiff.buffer);
  tiff.set(littleEndian ? [0x49, 0x49] : [0x4d, 0x4d]);
  dv.setUint16(2, 42, littleEndian);
  dv.setUint32(4, 8, littleEndian);
  dv.setUint16(8, 1, littleEndian);
  dv.setUint16(10, 0x0112, littleEndian);
  dv.setUint16(12, 3, littleEndian);
  dv.setUint32(14, 1, littleEndian);
  dv.setUint16(18, o, littleEndian);
  return segment(0xe1, concatBytes([0x45, 0x78, 0x69, 0x66, 0, 0], tiff));
}

/** The offset of the frame header (SOF0/SOF1/SOF2) in a JPEG. */
export function sofOffset(j: Uint8Array): number {
  let i = 2;
  while (i + 4 < j.length) {
    const m = j[i + 1];
    if (m === 0xc0 || m === 0xc1 || m === 0xc2) return i;
    i += 2 + ((j[i + 2] << 8) | j[i + 3]);
  }
  throw new Error("no SOF");
}

/** Deterministic pseudo-random numbers (a linear congruential generator), for fuzzing with a fixed seed. */
export function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x100000000;
  };
}
