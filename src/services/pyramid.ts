import { eq } from "drizzle-orm";
import { createDb } from "../db/client";
import { images } from "../db/schema";
import type { Env } from "../env";
import { encodeRaster } from "../media/encode";
import { CorruptImageError, ImageTooLargeError } from "../media/errors";
import { decodeJpeg } from "../media/jpeg-decode";
import { LIMITS } from "../media/limits";
import type { Raster, Rect } from "../media/raster";
import { cropRaster, renderRegion, scaledRect } from "../media/render";
import { resizeRaster } from "../media/resize";
import { enqueue } from "../storage/queues";
import { loadSource } from "./image-source";
import type { ImageRow } from "./image-access";

/**
 * The deep-zoom pyramid of an image: level L is the image halved L times (ceil(W / 2^L) × ceil(H / 2^L)), stored in
 * R2 as a grid of CHUNK-pixel JPEG chunks under `derived/<original r2 key>/pyramid/` (the blob sweep deletes that
 * prefix with the original). Any crop at any zoom then decodes a few small chunks of the coarsest level that still
 * has the resolution, instead of the original.
 */
export const CHUNK = 512;
const CHUNK_QUALITY = 90;

export interface PyramidManifest {
  width: number;
  height: number;
  chunk: number;
  levels: number;
}

export const pyramidPrefix = (img: Pick<ImageRow, "r2Key">) => `derived/${img.r2Key}/pyramid`;
const chunkKey = (img: Pick<ImageRow, "r2Key">, level: number, cx: number, cy: number) => `${pyramidPrefix(img)}/${level}/${cx}_${cy}.jpg`;
const manifestKey = (img: Pick<ImageRow, "r2Key">) => `${pyramidPrefix(img)}/manifest.json`;

export function pyramidLevels(W: number, H: number): number {
  let levels = 1;
  while (Math.max(Math.ceil(W / 2 ** (levels - 1)), Math.ceil(H / 2 ** (levels - 1))) > CHUNK) levels++;
  return levels;
}

export async function readManifest(env: Env, img: Pick<ImageRow, "r2Key">): Promise<PyramidManifest | null> {
  const obj = await env.BUCKET.get(manifestKey(img));
  if (!obj) return null;
  return (await obj.json()) as PyramidManifest;
}

async function setStatus(env: Env, imageId: number, status: string, levels: number | null = null) {
  await createDb(env.DB).update(images).set({ pyramidStatus: status, pyramidLevels: levels }).where(eq(images.id, imageId));
}

/**
 * Builds every level within the memory budget: a level that fits LIMITS.maxRasterPixels is decoded once (at the
 * coarsest DCT scale that has it) and every coarser level is halved from it in memory; a larger level is decoded in
 * bands of CHUNK rows. Idempotent: a rerun rewrites the same keys. Corrupt or oversized images end `failed` at once
 * (retrying cannot help); anything else throws, so the queue retries.
 */
export async function buildPyramid(env: Env, imageId: number): Promise<void> {
  const [img] = await createDb(env.DB).select().from(images).where(eq(images.id, imageId)).limit(1);
  if (!img) return;
  await setStatus(env, img.id, "building");
  let levels: number;
  let W: number;
  let H: number;
  try {
    const src = await loadSource(env, img);
    ({ width: W, height: H } = src);
    levels = pyramidLevels(W, H);
    let raster: Raster | null = null;
    for (let L = 0; L < levels; L++) {
      const lw = Math.ceil(W / 2 ** L);
      const lh = Math.ceil(H / 2 ** L);
      if (raster) raster = resizeRaster(raster, lw, lh);
      else if (lw * lh <= LIMITS.maxRasterPixels) raster = renderRegion(src, { x: 0, y: 0, w: W, h: H }, lw, lh);
      if (raster) {
        await putChunks(env, img, L, raster, 0);
        continue;
      }
      const s = 2 ** L;
      for (let by = 0; by * CHUNK < lh; by++) {
        const y0 = by * CHUNK * s;
        const bandH = Math.min(CHUNK, lh - by * CHUNK);
        const band = renderRegion(src, { x: 0, y: y0, w: W, h: Math.min(H, y0 + CHUNK * s) - y0 }, lw, bandH);
        await putChunks(env, img, L, band, by);
      }
    }
  } catch (e) {
    if (e instanceof ImageTooLargeError || e instanceof CorruptImageError) {
      await setStatus(env, img.id, "failed");
      return;
    }
    throw e;
  }
  const manifest: PyramidManifest = { width: W, height: H, chunk: CHUNK, levels };
  await env.BUCKET.put(manifestKey(img), JSON.stringify(manifest), { httpMetadata: { contentType: "application/json" } });
  await setStatus(env, img.id, "ready", levels);
}

/** Cuts `raster` (a full level, or band `by` of one) into chunks and stores them. */
async function putChunks(env: Env, img: ImageRow, level: number, raster: Raster, firstRow: number) {
  const rows = Math.ceil(raster.height / CHUNK);
  const cols = Math.ceil(raster.width / CHUNK);
  for (let cy = 0; cy < rows; cy++) {
    const puts: Promise<unknown>[] = [];
    for (let cx = 0; cx < cols; cx++) {
      const rect = { x: cx * CHUNK, y: cy * CHUNK, w: Math.min(CHUNK, raster.width - cx * CHUNK), h: Math.min(CHUNK, raster.height - cy * CHUNK) };
      const bytes = encodeRaster(cropRaster(raster, rect), "jpg", CHUNK_QUALITY);
      puts.push(env.BUCKET.put(chunkKey(img, level, cx, firstRow + cy), bytes, { httpMetadata: { contentType: "image/jpeg" } }));
    }
    await Promise.all(puts);
  }
}

/**
 * `crop` (source pixels) at outW × outH from the pyramid: the coarsest level that still has the resolution (or a
 * coarser one when the region would not fit the raster budget), assembled from the chunks it touches.
 */
export async function renderFromPyramid(env: Env, img: ImageRow, m: PyramidManifest, crop: Rect, outW: number, outH: number): Promise<Raster> {
  const enough = (L: number) => Math.ceil(crop.w / 2 ** L) >= outW && Math.ceil(crop.h / 2 ** L) >= outH;
  let L = 0;
  while (L + 1 < m.levels && enough(L + 1)) L++;
  const dims = { width: m.width, height: m.height };
  while (L + 1 < m.levels && (() => { const r = scaledRect(crop, 2 ** L, dims); return r.w * r.h > LIMITS.maxRasterPixels; })()) L++;
  const region = scaledRect(crop, 2 ** L, dims);
  if (region.w * region.h > LIMITS.maxRasterPixels) throw new ImageTooLargeError(`region too large: the limit is ${LIMITS.maxRasterPixels} pixels`);
  const lw = Math.ceil(m.width / 2 ** L);
  const lh = Math.ceil(m.height / 2 ** L);
  const out = new Uint8Array(region.w * region.h * 4);
  const jobs: Promise<void>[] = [];
  for (let cy = Math.floor(region.y / m.chunk); cy * m.chunk < region.y + region.h; cy++) {
    for (let cx = Math.floor(region.x / m.chunk); cx * m.chunk < region.x + region.w; cx++) {
      jobs.push(
        (async () => {
          const obj = await env.BUCKET.get(chunkKey(img, L, cx, cy));
          if (!obj) throw new Error(`pyramid chunk ${L}/${cx}_${cy} of image ${img.id} is missing`);
          const bytes = new Uint8Array(await obj.arrayBuffer());
          const ox = cx * m.chunk;
          const oy = cy * m.chunk;
          const cw = Math.min(m.chunk, lw - ox);
          const ch = Math.min(m.chunk, lh - oy);
          const ix0 = Math.max(region.x, ox);
          const iy0 = Math.max(region.y, oy);
          const ix1 = Math.min(region.x + region.w, ox + cw);
          const iy1 = Math.min(region.y + region.h, oy + ch);
          const part = decodeJpeg(bytes, 1, { x: ix0 - ox, y: iy0 - oy, w: ix1 - ix0, h: iy1 - iy0 });
          for (let y = 0; y < part.height; y++) {
            out.set(part.data.subarray(y * part.width * 4, (y + 1) * part.width * 4), ((iy0 - region.y + y) * region.w + (ix0 - region.x)) * 4);
          }
        })(),
      );
    }
  }
  await Promise.all(jobs);
  return resizeRaster({ width: region.w, height: region.h, data: out }, outW, outH);
}

/** Dead-letter: retries are exhausted. */
export async function failPyramid(env: Env, imageId: number): Promise<void> {
  await setStatus(env, imageId, "failed");
}

/**
 * Remo's `cache`: queues the build unless it is built or under way. Answers whether it is built.
 */
export async function requestPyramid(env: Env, img: ImageRow): Promise<"cached" | "caching"> {
  if (img.pyramidStatus === "ready") return "cached";
  if (img.pyramidStatus === "queued" || img.pyramidStatus === "building") return "caching";
  await setStatus(env, img.id, "queued");
  await enqueue(env.INGEST, { type: "build-pyramid", imageId: img.id });
  return "caching";
}
