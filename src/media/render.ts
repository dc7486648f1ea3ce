import { photonDecode } from "./encode";
import { CorruptImageError, ImageTooLargeError, UnsupportedImageError } from "./errors";
import { decodeJpeg, type Scale } from "./jpeg-decode";
import { LIMITS } from "./limits";
import { decodePng } from "./png-decode";
import { orientRaster, uprightToStored } from "./orientation";
import { probeImage, sniffImageMime, swapsAxes } from "./probe";
import type { Raster, Rect } from "./raster";
import { resizeRaster } from "./resize";

export interface SourceImage {
  bytes: Uint8Array;
  /**
   * Upright size, from the header (probeImage) or the images row: checked against the limits before anything is
   * decoded.
   */
  width: number;
  height: number;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/**
 * `crop` of `src` (upright pixels, already clamped and non-empty) resized to exactly outW × outH, decoding as
 * little as possible: JPEGs at the coarsest DCT scale (1/2, 1/4, 1/8) that still has one real pixel per output
 * pixel, PNGs box-averaged while streaming, both only down to the crop's last row. A JPEG's EXIF orientation is
 * applied (orientation.ts): the crop is mapped to the stored grid, decoded and resized there, and the result
 * turned upright. Throws ImageTooLargeError (413) when the work would not fit the memory budget,
 * CorruptImageError (422) for bad bytes, UnsupportedImageError (415) for what no decoder here reads.
 */
export function renderRegion(src: SourceImage, crop: Rect, outW: number, outH: number): Raster {
  if (outW < 1 || outH < 1 || crop.w < 1 || crop.h < 1) throw new RangeError("empty region");
  if (outW * outH > LIMITS.maxOutputPixels)
    throw new ImageTooLargeError(
      `the result would be ${outW}×${outH} pixels: the limit is ${fmt(LIMITS.maxOutputPixels)} pixels`,
    );
  if (src.width * src.height > LIMITS.maxSourcePixels)
    throw new ImageTooLargeError(
      `image of ${src.width}×${src.height} is too large: the limit is ${fmt(LIMITS.maxSourcePixels)} pixels`,
    );
  const mime = sniffImageMime(src.bytes);
  if (!mime) throw new CorruptImageError("not an image (unrecognised bytes)");
  const o = mime === "image/jpeg" ? (probeImage(src.bytes)?.orientation ?? 1) : 1;
  if (o === 1) return renderStored(src, mime, crop, outW, outH);
  const swap = swapsAxes(o);
  const stored = { bytes: src.bytes, width: swap ? src.height : src.width, height: swap ? src.width : src.height };
  const region = uprightToStored(crop, o, stored.width, stored.height);
  return orientRaster(renderStored(stored, mime, region, swap ? outH : outW, swap ? outW : outH), o);
}

/**
 * The largest 1/s (s ≤ max) at which `crop` still has at least `outW` × `outH` whole source pixels: a scaled
 * pixel of a crop narrower than s would average padding or neighbours outside it (a 2×2 JPEG at 1/8 reads its
 * block's padding), so whole pixels are counted, and s never exceeds the crop, so the search ends for a 1×1 output.
 */
export function coarsestScale(crop: Rect, outW: number, outH: number, max: number): number {
  const limit = Math.min(max, crop.w, crop.h);
  let s = 1;
  while (s < limit && Math.floor(crop.w / (s + 1)) >= outW && Math.floor(crop.h / (s + 1)) >= outH) s++;
  return s;
}

function renderStored(src: SourceImage, mime: string, crop: Rect, outW: number, outH: number): Raster {
  try {
    if (mime === "image/jpeg") {
      // A chroma sample may span up to 4 pixels each way (sampling factors are 1–4, ITU T.81 §A.1.1): at 1/s a
      // scaled chroma sample of a crop narrower than 4s would be mostly the block's padding.
      const whole = coarsestScale(crop, outW, outH, Math.min(8, Math.floor(Math.min(crop.w, crop.h) / 4)));
      let s: Scale = whole >= 8 ? 8 : whole >= 4 ? 4 : whole >= 2 ? 2 : 1;
      while (s < 8 && rectPixels(scaledRect(crop, s, src)) > LIMITS.maxRasterPixels) s = (s * 2) as Scale;
      const region = scaledRect(crop, s, src);
      assertRasterFits(region, src);
      return resizeRaster(decodeJpeg(src.bytes, s, region), outW, outH);
    }
    if (mime === "image/png") {
      let s = coarsestScale(crop, outW, outH, Math.max(src.width, src.height));
      // Coarser only when the region would not fit the raster budget; at s = the longest side it is one pixel.
      const longest = Math.max(src.width, src.height);
      while (s < longest && rectPixels(scaledRect(crop, s, src)) > LIMITS.maxRasterPixels) s *= 2;
      const region = scaledRect(crop, Math.min(s, longest), src);
      assertRasterFits(region, src);
      return resizeRaster(decodePng(src.bytes, Math.min(s, longest), region), outW, outH);
    }
  } catch (e) {
    if (!(e instanceof UnsupportedImageError) || !e.fallback) throw e;
  }
  // Formats the streaming decoders do not read: photon, bounded by the header size.
  const full = photonDecode(src.bytes, src.width, src.height);
  return resizeRaster(cropRaster(full, crop), outW, outH);
}

function rectPixels(r: Rect) {
  return r.w * r.h;
}

function assertRasterFits(region: Rect, src: SourceImage) {
  if (rectPixels(region) > LIMITS.maxRasterPixels)
    throw new ImageTooLargeError(
      `this region of a ${src.width}×${src.height} image needs ${fmt(rectPixels(region))} decoded pixels: the limit is ${fmt(LIMITS.maxRasterPixels)}`,
    );
}

/** The crop in the coordinates of the image scaled by 1/s (covering every partly covered scaled pixel). */
export function scaledRect(crop: Rect, s: number, src: { width: number; height: number }): Rect {
  const sw = Math.ceil(src.width / s);
  const sh = Math.ceil(src.height / s);
  const x0 = Math.min(sw - 1, Math.floor(crop.x / s));
  const y0 = Math.min(sh - 1, Math.floor(crop.y / s));
  const x1 = Math.min(sw, Math.max(x0 + 1, Math.ceil((crop.x + crop.w) / s)));
  const y1 = Math.min(sh, Math.max(y0 + 1, Math.ceil((crop.y + crop.h) / s)));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export function cropRaster(r: Raster, c: Rect): Raster {
  if (c.x === 0 && c.y === 0 && c.w === r.width && c.h === r.height) return r;
  const out = new Uint8Array(c.w * c.h * 4);
  for (let y = 0; y < c.h; y++) {
    const from = ((c.y + y) * r.width + c.x) * 4;
    out.set(r.data.subarray(from, from + c.w * 4), y * c.w * 4);
  }
  return { width: c.w, height: c.h, data: out };
}
