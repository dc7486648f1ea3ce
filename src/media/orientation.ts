import type { Raster, Rect } from "./raster";

/**
 * EXIF orientation (TIFF tag 0x0112; Exif 2.32 §4.6.4, the values as CIPA DC-008 and every browser read them):
 * how the stored pixels are turned to show the picture upright. 1 upright, 2 mirrored left-right, 3 turned 180°,
 * 4 mirrored top-bottom, 5 transposed (mirrored about the top-left/bottom-right diagonal), 6 turned 90° clockwise,
 * 7 transversed (the other diagonal), 8 turned 90° counter-clockwise. Coordinates in this API live in the upright
 * grid (as browsers, Pillow's exif_transpose, CVAT and Label Studio show the image); these map them to the stored
 * grid the decoders read, and a decoded raster back to upright.
 */

/** The stored-grid rectangle under upright rectangle `r`, for a stored image of SW × SH pixels. */
export function uprightToStored(r: Rect, o: number, SW: number, SH: number): Rect {
  switch (o) {
    case 2:
      return { x: SW - r.x - r.w, y: r.y, w: r.w, h: r.h };
    case 3:
      return { x: SW - r.x - r.w, y: SH - r.y - r.h, w: r.w, h: r.h };
    case 4:
      return { x: r.x, y: SH - r.y - r.h, w: r.w, h: r.h };
    case 5:
      return { x: r.y, y: r.x, w: r.h, h: r.w };
    case 6:
      return { x: r.y, y: SH - r.x - r.w, w: r.h, h: r.w };
    case 7:
      return { x: SW - r.y - r.h, y: SH - r.x - r.w, w: r.h, h: r.w };
    case 8:
      return { x: SW - r.y - r.h, y: r.x, w: r.h, h: r.w };
    default:
      return r;
  }
}

/**
 * `r` (stored orientation) turned upright: a new raster, width and height swapped for 5–8. Upright pixel (u, v)
 * is stored pixel (x, y) by the inverse of each orientation's transform, with SW × SH the stored raster's size.
 */
export function orientRaster(r: Raster, o: number): Raster {
  if (o < 2 || o > 8) return r;
  const SW = r.width;
  const SH = r.height;
  const swap = o >= 5;
  const W = swap ? SH : SW;
  const H = swap ? SW : SH;
  const data = r.data.byteOffset % 4 ? r.data.slice() : r.data;
  const src = new Uint32Array(data.buffer, data.byteOffset, SW * SH);
  const out = new Uint8Array(W * H * 4);
  const dst = new Uint32Array(out.buffer);
  // Stored index of upright (u, v) = base + u * du + v * dv.
  let base = 0;
  let du = 1;
  let dv = SW;
  switch (o) {
    case 2:
      [base, du, dv] = [SW - 1, -1, SW];
      break;
    case 3:
      [base, du, dv] = [SW * SH - 1, -1, -SW];
      break;
    case 4:
      [base, du, dv] = [(SH - 1) * SW, 1, -SW];
      break;
    case 5: // x = v, y = u
      [base, du, dv] = [0, SW, 1];
      break;
    case 6: // x = v, y = SH-1-u
      [base, du, dv] = [(SH - 1) * SW, -SW, 1];
      break;
    case 7: // x = SW-1-v, y = SH-1-u
      [base, du, dv] = [SW * SH - 1, -SW, -1];
      break;
    case 8: // x = SW-1-v, y = u
      [base, du, dv] = [SW - 1, SW, -1];
      break;
  }
  for (let v = 0, k = 0; v < H; v++) {
    let i = base + v * dv;
    for (let u = 0; u < W; u++, k++, i += du) dst[k] = src[i];
  }
  return { width: W, height: H, data: out };
}
