import { encodeRaster } from "./encode";
import { ImageTooLargeError, UnsupportedImageError } from "./errors";
import { decodeJpeg } from "./jpeg-decode";
import { LIMITS } from "./limits";
import { probeImage } from "./probe";
import type { Raster, Rect } from "./raster";
import { cropRaster, renderRegion, scaledRect, type SourceImage } from "./render";
import { resizeRaster } from "./resize";

/**
 * Pyramid geometry and pixels, with storage left to the caller (R2 in the service, memory in the benchmark):
 * level L is the image halved L times (ceil(W / 2^L) × ceil(H / 2^L)), kept as a grid of CHUNK-pixel JPEGs, down to
 * the first level that fits in one chunk.
 */
export const CHUNK = 512;
const CHUNK_QUALITY = 90;

export interface PyramidManifest {
  width: number;
  height: number;
  chunk: number;
  levels: number;
}

export type PutChunk = (level: number, cx: number, cy: number, jpeg: Uint8Array) => Promise<void>;
export type GetChunk = (level: number, cx: number, cy: number) => Promise<Uint8Array | null>;

export function pyramidLevels(W: number, H: number): number {
  let levels = 1;
  while (Math.max(Math.ceil(W / 2 ** (levels - 1)), Math.ceil(H / 2 ** (levels - 1))) > CHUNK) levels++;
  return levels;
}

/**
 * Builds every level within the memory budget: a level that fits LIMITS.maxRasterPixels is decoded once (at the
 * coarsest DCT scale that has it) and every coarser level is halved from it in memory; a larger level is decoded in
 * bands of CHUNK rows, so the peak is one band, never the whole image.
 */
export async function buildLevels(src: SourceImage, put: PutChunk): Promise<PyramidManifest> {
  const { width: W, height: H } = src;
  const levels = pyramidLevels(W, H);
  let raster: Raster | null = null;
  let first = 0;
  // A JPEG too large for one raster whose half fits: a single streaming pass cuts level 0 band by band and
  // box-halves each band into level 1, so the original is decoded once. Stored rows are upright rows only without
  // an EXIF turn or flip; an oriented JPEG goes through renderRegion, which applies it.
  const halfW = Math.ceil(W / 2);
  const halfH = Math.ceil(H / 2);
  if (
    levels > 1 &&
    W * H > LIMITS.maxRasterPixels &&
    halfW * halfH <= LIMITS.maxRasterPixels &&
    isPlainJpeg(src.bytes)
  ) {
    const half = new Uint8Array(halfW * halfH * 4);
    const puts: Promise<void>[] = [];
    try {
      decodeJpeg(src.bytes, 1, undefined, {
        rows: CHUNK,
        emit(band, y0) {
          puts.push(...chunkPuts(put, 0, band, y0 / CHUNK));
          halveInto(band, y0, half, halfW, halfH);
        },
      });
      await Promise.all(puts);
      raster = { width: halfW, height: halfH, data: half };
      await putChunks(put, 1, raster, 0);
      first = 2;
    } catch (e) {
      await Promise.allSettled(puts);
      if (!(e instanceof UnsupportedImageError)) throw e;
      raster = null;
    }
  }
  for (let L = first; L < levels; L++) {
    const lw = Math.ceil(W / 2 ** L);
    const lh = Math.ceil(H / 2 ** L);
    if (raster) raster = resizeRaster(raster, lw, lh);
    else if (lw * lh <= LIMITS.maxRasterPixels) raster = renderRegion(src, { x: 0, y: 0, w: W, h: H }, lw, lh);
    if (raster) {
      await putChunks(put, L, raster, 0);
      continue;
    }
    const s = 2 ** L;
    for (let by = 0; by * CHUNK < lh; by++) {
      const y0 = by * CHUNK * s;
      const bandH = Math.min(CHUNK, lh - by * CHUNK);
      const band = renderRegion(src, { x: 0, y: y0, w: W, h: Math.min(H, y0 + CHUNK * s) - y0 }, lw, bandH);
      await putChunks(put, L, band, by);
    }
  }
  return { width: W, height: H, chunk: CHUNK, levels };
}

function isPlainJpeg(bytes: Uint8Array): boolean {
  const head = probeImage(bytes);
  return head?.mime === "image/jpeg" && head.orientation === 1;
}

/** Adds `band` (rows y0.. of level 0, y0 even) to `half`, each pixel the mean of the 2×2 (or edge) pixels under it. */
function halveInto(band: Raster, y0: number, half: Uint8Array, hw: number, hh: number) {
  const w = band.width;
  const d = band.data;
  for (let by = 0; by < band.height; by += 2) {
    const hy = (y0 + by) / 2;
    if (hy >= hh) break;
    const two = by + 1 < band.height;
    for (let hx = 0; hx < hw; hx++) {
      const x0 = hx * 2;
      const wide = x0 + 1 < w;
      const n = (wide ? 2 : 1) * (two ? 2 : 1);
      const o = (hy * hw + hx) * 4;
      for (let c = 0; c < 4; c++) {
        let sum = d[(by * w + x0) * 4 + c];
        if (wide) sum += d[(by * w + x0 + 1) * 4 + c];
        if (two) {
          sum += d[((by + 1) * w + x0) * 4 + c];
          if (wide) sum += d[((by + 1) * w + x0 + 1) * 4 + c];
        }
        half[o + c] = (sum + (n >> 1)) / n;
      }
    }
  }
}

/** Encodes chunk (cx, cy) of `raster` (synchronously: the raster may be reused) and starts its put. */
function putChunk(put: PutChunk, level: number, raster: Raster, cx: number, cy: number, firstRow: number) {
  const rect = {
    x: cx * CHUNK,
    y: cy * CHUNK,
    w: Math.min(CHUNK, raster.width - cx * CHUNK),
    h: Math.min(CHUNK, raster.height - cy * CHUNK),
  };
  return put(level, cx, firstRow + cy, encodeRaster(cropRaster(raster, rect), "jpg", CHUNK_QUALITY));
}

/** Encodes `raster`'s chunks (synchronously: the band is reused) and starts their puts. */
function chunkPuts(put: PutChunk, level: number, raster: Raster, firstRow: number): Promise<void>[] {
  const puts: Promise<void>[] = [];
  for (let cy = 0; cy * CHUNK < raster.height; cy++) {
    for (let cx = 0; cx * CHUNK < raster.width; cx++) {
      puts.push(putChunk(put, level, raster, cx, cy, firstRow));
    }
  }
  return puts;
}

/** Cuts `raster` (a full level, or the band starting at chunk row `firstRow`) into chunks. */
async function putChunks(put: PutChunk, level: number, raster: Raster, firstRow: number) {
  const rows = Math.ceil(raster.height / CHUNK);
  const cols = Math.ceil(raster.width / CHUNK);
  for (let cy = 0; cy < rows; cy++) {
    const puts: Promise<void>[] = [];
    for (let cx = 0; cx < cols; cx++) {
      puts.push(putChunk(put, level, raster, cx, cy, firstRow));
    }
    await Promise.all(puts);
  }
}

/**
 * `crop` (source pixels) at outW × outH from the pyramid: the coarsest level that still has the resolution (or a
 * coarser one when the region would not fit the raster budget), assembled from the chunks it touches. Resolves,
 * once every chunk is fetched, to a synchronous function that decodes and assembles: called right before the
 * (synchronous) encode, no other request in the isolate runs while the rasters exist, so concurrent requests add
 * up only their compressed inputs.
 */
export async function renderFromChunks(
  m: PyramidManifest,
  crop: Rect,
  outW: number,
  outH: number,
  get: GetChunk,
): Promise<() => Raster> {
  const dims = { width: m.width, height: m.height };
  const enough = (L: number) => Math.ceil(crop.w / 2 ** L) >= outW && Math.ceil(crop.h / 2 ** L) >= outH;
  const fits = (L: number) => {
    const r = scaledRect(crop, 2 ** L, dims);
    return r.w * r.h <= LIMITS.maxRasterPixels;
  };
  let L = 0;
  while (L + 1 < m.levels && (enough(L + 1) || !fits(L))) L++;
  const region = scaledRect(crop, 2 ** L, dims);
  if (!fits(L)) throw new ImageTooLargeError(`region too large: the limit is ${LIMITS.maxRasterPixels} pixels`);
  const lw = Math.ceil(m.width / 2 ** L);
  const lh = Math.ceil(m.height / 2 ** L);
  const wanted: { cx: number; cy: number }[] = [];
  for (let cy = Math.floor(region.y / m.chunk); cy * m.chunk < region.y + region.h; cy++)
    for (let cx = Math.floor(region.x / m.chunk); cx * m.chunk < region.x + region.w; cx++) wanted.push({ cx, cy });
  const chunks = await Promise.all(wanted.map(({ cx, cy }) => get(L, cx, cy)));
  return () => {
    const out = new Uint8Array(region.w * region.h * 4);
    wanted.forEach(({ cx, cy }, i) => {
      const bytes = chunks[i];
      if (!bytes) throw new Error(`pyramid chunk ${L}/${cx}_${cy} is missing`);
      const ox = cx * m.chunk;
      const oy = cy * m.chunk;
      const ix0 = Math.max(region.x, ox);
      const iy0 = Math.max(region.y, oy);
      const ix1 = Math.min(region.x + region.w, ox + Math.min(m.chunk, lw - ox));
      const iy1 = Math.min(region.y + region.h, oy + Math.min(m.chunk, lh - oy));
      const part = decodeJpeg(bytes, 1, { x: ix0 - ox, y: iy0 - oy, w: ix1 - ix0, h: iy1 - iy0 });
      for (let y = 0; y < part.height; y++) {
        out.set(
          part.data.subarray(y * part.width * 4, (y + 1) * part.width * 4),
          ((iy0 - region.y + y) * region.w + (ix0 - region.x)) * 4,
        );
      }
    });
    return resizeRaster({ width: region.w, height: region.h, data: out }, outW, outH);
  };
}
