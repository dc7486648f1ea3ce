import type { Context } from "hono";
import type { AppEnv, Env } from "../../env";
import { ApiError } from "../../lib/errors";
import { log } from "../../lib/log";
import { encodeRaster, type OutputFormat } from "../../media/encode";
import { CorruptImageError, ImageTooLargeError, UnsupportedImageError } from "../../media/errors";
import type { Raster, Rect } from "../../media/raster";
import { LIMITS } from "../../media/limits";
import { renderRegion } from "../../media/render";
import { derivedEtag, getDerived, isolateGet, isolatePut, putDerived } from "../../storage/derived-cache";
import type { ImageRow } from "./access";
import { loadSource } from "./source";
import { fetchFromPyramid, readManifest } from "./pyramid";

export const CONTENT_TYPES: Record<OutputFormat, string> = { jpg: "image/jpeg", png: "image/png", webp: "image/webp" };

/** Media-layer failures as the API's statuses: too large 413, corrupt 422, unsupported 415. */
export function mediaError(e: unknown): unknown {
  if (e instanceof ImageTooLargeError) return new ApiError("PAYLOAD_TOO_LARGE", e.message);
  if (e instanceof CorruptImageError) return new ApiError("UNPROCESSABLE", e.message);
  if (e instanceof UnsupportedImageError)
    return new ApiError("UNSUPPORTED_MEDIA_TYPE", `unsupported image: ${e.message}`);
  // A trap inside photon (it should only ever see valid rasters): fail this request, keep the isolate.
  if (e instanceof WebAssembly.RuntimeError) return new ApiError("UNPROCESSABLE", "the image could not be processed");
  return e;
}

/**
 * `crop` of the image (source pixels, clamped, non-empty) at exactly outW × outH, encoded. Reads the pyramid when
 * it is built (any size, few small decodes), else the original within the decode limits (413 beyond them).
 */
export async function renderImage(
  env: Env,
  img: ImageRow,
  crop: Rect,
  outW: number,
  outH: number,
  format: OutputFormat,
  quality: number,
  opts: { gray?: boolean } = {},
): Promise<Uint8Array> {
  const finish = (r: Raster) => encodeRaster(opts.gray ? toGray(r) : r, format, quality);
  try {
    const limit = format === "webp" ? LIMITS.maxWebpOutputPixels : LIMITS.maxOutputPixels;
    if (outW * outH > limit)
      throw new ImageTooLargeError(
        `the result would be ${outW}×${outH} pixels: the limit is ${limit.toLocaleString("en-US")} pixels${format === "webp" ? " for WebP" : ""}`,
      );
    // No await between decode and encode: rasters never live while another request runs in this isolate, so
    // concurrent requests add up only their compressed inputs.
    if (img.pyramidStatus === "ready") {
      const m = await readManifest(env, img);
      if (m) {
        const assemble = await fetchFromPyramid(env, img, m, crop, outW, outH);
        return finish(assemble());
      }
    }
    const src = await loadSource(env, img);
    return finish(renderRegion(src, clampTo(crop, src), outW, outH));
  } catch (e) {
    throw mediaError(e);
  }
}

function toGray(r: Raster): Raster {
  const d = r.data;
  for (let i = 0; i < d.length; i += 4) {
    const g = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    d[i] = d[i + 1] = d[i + 2] = g;
  }
  return r;
}

/** The stored size should equal the header's; if it does not, the header wins. */
function clampTo(crop: Rect, src: { width: number; height: number }): Rect {
  const x = Math.min(crop.x, src.width - 1);
  const y = Math.min(crop.y, src.height - 1);
  return { x, y, w: Math.max(1, Math.min(crop.w, src.width - x)), h: Math.max(1, Math.min(crop.h, src.height - y)) };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

export const IMMUTABLE = "public, max-age=31536000, immutable";
export const REVALIDATE = "private, no-cache";

/**
 * Serves a derived image: 304 on a matching If-None-Match (the ETag is a function of the key, so no read is
 * needed), a hit from the isolate tier or KV, or `produce()` then store in KV. `X-Cache` says hit or miss,
 * `X-Cache-Tier` where a hit came from.
 */
export async function serveDerived(
  c: Context<AppEnv>,
  key: string,
  cacheControl: string,
  produce: () => Promise<{ bytes: Uint8Array; contentType: string }>,
): Promise<Response> {
  const etag = await derivedEtag(key);
  const headers: Record<string, string> = { etag, "cache-control": cacheControl };
  if (etagMatches(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  const hot = isolateGet(key);
  if (hot)
    return new Response(hot.bytes, {
      status: 200,
      headers: { ...headers, "content-type": hot.contentType, "x-cache": "hit", "x-cache-tier": "isolate" },
    });
  const hit = await getDerived(c.env.CACHE, key);
  if (hit) {
    isolatePut(key, hit);
    return new Response(hit.bytes, {
      status: 200,
      headers: { ...headers, "content-type": hit.contentType, "x-cache": "hit", "x-cache-tier": "kv" },
    });
  }
  const made = await produce();
  try {
    await putDerived(c.env.CACHE, key, made);
  } catch (e) {
    // A full or unavailable KV must not fail a request whose bytes are ready.
    log("warn", c.var.requestId, "derived image not cached", { key, error: String(e) });
  }
  return new Response(made.bytes, {
    status: 200,
    headers: { ...headers, "content-type": made.contentType, "x-cache": "miss" },
  });
}
