import { PhotonImage } from "@cf-wasm/photon";
import { CorruptImageError, ImageTooLargeError } from "./errors";
import { encodeJpeg } from "./jpeg-encode";
import { LIMITS } from "./limits";
import type { Raster } from "./raster";

/**
 * Everything that touches photon's WASM instance. Photon's memory only grows and a panic leaks, and the
 * wasm-bindgen glue keeps one instance per isolate that cannot be re-created, so photon only ever receives:
 * - raw RGBA rasters whose length matches width × height × 4 (to encode PNG and WebP; JPEG is our own encoder,
 *   jpeg-encode.ts): nothing it can panic on;
 * - compressed bytes (progressive JPEG, WebP, GIF, TIFF, interlaced PNG) only after the header said they fit
 *   LIMITS.photonDecodePixels. A trap there is a 422 for that request; after `maxPhotonTraps` of them the fallback
 *   is switched off for this isolate (the streaming JPEG/PNG decoders, which never touch photon, keep working).
 */
export type OutputFormat = "jpg" | "png" | "webp";

let photonTraps = 0;
let photonDecodes = 0;

export function photonTrapCount(): number {
  return photonTraps;
}

/** How many images photon's own decoder has been handed in this isolate (the fallback formats only). */
export function photonDecodeCount(): number {
  return photonDecodes;
}

export function encodeRaster(r: Raster, format: OutputFormat, quality = 90): Uint8Array {
  if (r.data.length !== r.width * r.height * 4 || r.width < 1 || r.height < 1)
    throw new RangeError("raster size mismatch");
  if (r.width * r.height > LIMITS.maxOutputPixels)
    throw new ImageTooLargeError(`output too large: limit ${LIMITS.maxOutputPixels} pixels`);
  if (format === "webp" && r.width * r.height > LIMITS.maxWebpOutputPixels)
    throw new ImageTooLargeError(`WebP output too large: limit ${LIMITS.maxWebpOutputPixels} pixels`);
  if (format === "jpg") {
    flattenAlpha(r);
    return encodeJpeg(r, quality);
  }
  const img = new PhotonImage(r.data, r.width, r.height);
  try {
    if (format === "png") return img.get_bytes();
    return img.get_bytes_webp();
  } finally {
    img.free();
  }
}

/** JPEG has no alpha: composite over white, as browsers show a transparent PNG. */
function flattenAlpha(r: Raster) {
  const d = r.data;
  for (let i = 3; i < d.length; i += 4) {
    const a = d[i];
    if (a === 255) continue;
    const k = a / 255;
    d[i - 3] = d[i - 3] * k + 255 * (1 - k);
    d[i - 2] = d[i - 2] * k + 255 * (1 - k);
    d[i - 1] = d[i - 1] * k + 255 * (1 - k);
    d[i] = 255;
  }
}

/** Photon's decoder, for the formats the streaming decoders do not read. The caller has checked the header size. */
export function photonDecode(bytes: Uint8Array, width: number, height: number): Raster {
  if (width * height > LIMITS.photonDecodePixels)
    throw new ImageTooLargeError(
      `image of ${width}×${height} is too large to decode in this format: the limit is ${LIMITS.photonDecodePixels} pixels`,
    );
  if (photonTraps >= LIMITS.maxPhotonTraps)
    throw new CorruptImageError("this image format cannot be decoded right now");
  let img: PhotonImage | undefined;
  photonDecodes++;
  try {
    img = PhotonImage.new_from_byteslice(bytes);
    const w = img.get_width();
    const h = img.get_height();
    if (w !== width || h !== height) throw new CorruptImageError("corrupt image: decoded size differs from its header");
    return { width: w, height: h, data: img.get_raw_pixels() };
  } catch (e) {
    if (e instanceof CorruptImageError) throw e;
    // A Rust panic surfaces as a WebAssembly.RuntimeError ("unreachable"): the request fails, the isolate lives on.
    photonTraps++;
    throw new CorruptImageError("corrupt or unreadable image");
  } finally {
    img?.free();
  }
}
