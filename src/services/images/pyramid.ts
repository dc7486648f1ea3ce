import { eq } from "drizzle-orm";
import { createDb } from "../../db/client";
import { images } from "../../db/schema";
import type { Env } from "../../env";
import { CorruptImageError, ImageTooLargeError } from "../../media/errors";
import { buildLevels, CHUNK, pyramidLevels, renderFromChunks, type PyramidManifest } from "../../media/pyramid";
import type { Raster, Rect } from "../../media/raster";
import { enqueue } from "../../storage/queues";
import { loadSource } from "./source";
import { forgetImageAccess, type ImageRow } from "./access";

/**
 * The deep-zoom pyramid of an image in R2, as chunks under `derived/<original r2 key>/pyramid/` (the blob sweep
 * deletes that prefix with the original). Any crop at any zoom then decodes a few small chunks of the coarsest level
 * that still has the resolution, instead of the original. Geometry and pixels: src/media/pyramid.ts.
 */
export { CHUNK, pyramidLevels, type PyramidManifest };

export const pyramidPrefix = (img: Pick<ImageRow, "r2Key">) => `derived/${img.r2Key}/pyramid`;
const chunkKey = (img: Pick<ImageRow, "r2Key">, level: number, cx: number, cy: number) =>
  `${pyramidPrefix(img)}/${level}/${cx}_${cy}.jpg`;
const manifestKey = (img: Pick<ImageRow, "r2Key">) => `${pyramidPrefix(img)}/manifest.json`;

export async function readManifest(env: Env, img: Pick<ImageRow, "r2Key">): Promise<PyramidManifest | null> {
  const obj = await env.BUCKET.get(manifestKey(img));
  if (!obj) return null;
  return (await obj.json()) as PyramidManifest;
}

async function setStatus(env: Env, imageId: number, status: string | null, levels: number | null = null) {
  await createDb(env.DB)
    .update(images)
    .set({ pyramidStatus: status, pyramidLevels: levels })
    .where(eq(images.id, imageId));
  forgetImageAccess();
}

/**
 * Builds the pyramid (src/media/pyramid.ts buildLevels: within the raster budget, in bands when large).
 * Idempotent: a rerun rewrites the same keys. Corrupt or oversized images end `failed` at once
 * (retrying cannot help); anything else throws, so the queue retries.
 */
export async function buildPyramid(env: Env, imageId: number): Promise<void> {
  const [img] = await createDb(env.DB).select().from(images).where(eq(images.id, imageId)).limit(1);
  if (!img) return;
  await setStatus(env, img.id, "building");
  let manifest: PyramidManifest;
  try {
    const src = await loadSource(env, img);
    manifest = await buildLevels(src, async (level, cx, cy, jpeg) => {
      await env.BUCKET.put(chunkKey(img, level, cx, cy), jpeg, { httpMetadata: { contentType: "image/jpeg" } });
    });
  } catch (e) {
    if (e instanceof ImageTooLargeError || e instanceof CorruptImageError) {
      await setStatus(env, img.id, "failed");
      return;
    }
    throw e;
  }
  await env.BUCKET.put(manifestKey(img), JSON.stringify(manifest), {
    httpMetadata: { contentType: "application/json" },
  });
  await setStatus(env, img.id, "ready", manifest.levels);
}

/** Fetches the chunks `crop` needs; the returned function decodes them into the outW × outH raster. */
export function fetchFromPyramid(
  env: Env,
  img: ImageRow,
  m: PyramidManifest,
  crop: Rect,
  outW: number,
  outH: number,
): Promise<() => Raster> {
  return renderFromChunks(m, crop, outW, outH, async (level, cx, cy) => {
    const obj = await env.BUCKET.get(chunkKey(img, level, cx, cy));
    return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
  });
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
  try {
    await enqueue(env.INGEST, { type: "build-pyramid", imageId: img.id });
  } catch (e) {
    // Not queued after all: do not leave the image "caching" forever.
    await setStatus(env, img.id, img.pyramidStatus, img.pyramidLevels);
    throw e;
  }
  return "caching";
}
