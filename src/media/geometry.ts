import type { Rect } from "./raster";

/**
 * Remo's downsample crop (remo-reference §2.4): x = min(W, source_x), y = min(H, source_y),
 * w = min(W - source_x, source_width), h = min(H - source_y, source_height). Null when the result is empty
 * (zero size, or starting at/after the edge), which the route answers with 400.
 */
export function remoCrop(
  W: number,
  H: number,
  q: { source_x: number; source_y: number; source_width: number; source_height: number },
): Rect | null {
  const x = Math.min(W, q.source_x);
  const y = Math.min(H, q.source_y);
  const w = Math.min(W - q.source_x, q.source_width);
  const h = Math.min(H - q.source_y, q.source_height);
  if (!(w >= 1 && h >= 1)) return null;
  return { x, y, w, h };
}

/** The output size of a crop resized by `downscale` (at least 1 pixel each way, as libvips rounds). */
export function scaledSize(crop: Rect, downscale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.round(crop.w * downscale)), height: Math.max(1, Math.round(crop.h * downscale)) };
}

/** Longest side `max`, never enlarged. */
export function fitWithin(w: number, h: number, max: number): { width: number; height: number } {
  const k = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
}

/** Deep Zoom: level n of N = ceil(log2(max(W, H))) has size ceil(W / 2^(N-n)) × ceil(H / 2^(N-n)). */
export function dziMaxLevel(W: number, H: number): number {
  return Math.ceil(Math.log2(Math.max(W, H, 1)));
}

export function dziLevelSize(W: number, H: number, level: number): { width: number; height: number; factor: number } {
  const factor = 2 ** (dziMaxLevel(W, H) - level);
  return { width: Math.ceil(W / factor), height: Math.ceil(H / factor), factor };
}

/**
 * The source rectangle and output size of DZI tile (col,row) at `level`, or null if it does not exist.
 * Tiles are `tile` pixels with `overlap` pixels of neighbours on each inner edge, as OpenSeadragon expects.
 */
export function dziTile(W: number, H: number, tile: number, overlap: number, level: number, col: number, row: number) {
  const max = dziMaxLevel(W, H);
  if (level < 0 || level > max) return null;
  const { width, height, factor } = dziLevelSize(W, H, level);
  const cols = Math.ceil(width / tile);
  const rows = Math.ceil(height / tile);
  if (col < 0 || row < 0 || col >= cols || row >= rows) return null;
  const x0 = Math.max(0, col * tile - overlap);
  const y0 = Math.max(0, row * tile - overlap);
  const x1 = Math.min(width, (col + 1) * tile + overlap);
  const y1 = Math.min(height, (row + 1) * tile + overlap);
  const src = {
    x: x0 * factor,
    y: y0 * factor,
    w: Math.min(W, x1 * factor) - x0 * factor,
    h: Math.min(H, y1 * factor) - y0 * factor,
  };
  return { crop: src, width: x1 - x0, height: y1 - y0 };
}

export class IiifParamError extends Error {}

/** IIIF Image API 3.0 region: full | square | x,y,w,h | pct:x,y,w,h; clipped to the image; empty → error. */
export function iiifRegion(spec: string, W: number, H: number): Rect {
  if (spec === "full") return { x: 0, y: 0, w: W, h: H };
  if (spec === "square") {
    const s = Math.min(W, H);
    return { x: Math.floor((W - s) / 2), y: Math.floor((H - s) / 2), w: s, h: s };
  }
  const pct = spec.startsWith("pct:");
  const parts = (pct ? spec.slice(4) : spec).split(",");
  const num = pct ? /^\d+(\.\d+)?$/ : /^\d+$/;
  if (parts.length !== 4 || !parts.every((p) => num.test(p))) throw new IiifParamError(`invalid region "${spec}"`);
  let [x, y, w, h] = parts.map(Number);
  if (pct) {
    [x, y, w, h] = [
      Math.round((x * W) / 100),
      Math.round((y * H) / 100),
      Math.round((w * W) / 100),
      Math.round((h * H) / 100),
    ];
  }
  if (w <= 0 || h <= 0) throw new IiifParamError(`region "${spec}" is empty`);
  if (x >= W || y >= H) throw new IiifParamError(`region "${spec}" lies outside the image`);
  return { x, y, w: Math.min(w, W - x), h: Math.min(h, H - y) };
}

/**
 * IIIF size: max | w, | ,h | pct:n | w,h | !w,h (no upscaling: `^` forms are refused, as level 1 allows).
 * `maxArea` caps `max` the way the spec lets a server advertise it in info.json. A side derived from the other
 * (pct, `w,`, `,h`, `!w,h`, max) is at least 1 pixel; only an explicit 0 is an empty size.
 */
export function iiifSize(spec: string, region: Rect, maxArea: number): { width: number; height: number } {
  const rw = region.w;
  const rh = region.h;
  let w: number;
  let h: number;
  let m: RegExpExecArray | null;
  if (spec === "max") {
    const k = Math.min(1, Math.sqrt(maxArea / (rw * rh)));
    w = Math.max(1, Math.floor(rw * k));
    h = Math.max(1, Math.floor(rh * k));
  } else if ((m = /^pct:(\d+(?:\.\d+)?)$/.exec(spec))) {
    const p = Number(m[1]);
    if (p <= 0 || p > 100) throw new IiifParamError(`invalid size "${spec}"`);
    w = Math.max(1, Math.round((rw * p) / 100));
    h = Math.max(1, Math.round((rh * p) / 100));
  } else if ((m = /^(\d+),$/.exec(spec))) {
    w = Number(m[1]);
    h = Math.max(1, Math.round((rh * w) / rw));
  } else if ((m = /^,(\d+)$/.exec(spec))) {
    h = Number(m[1]);
    w = Math.max(1, Math.round((rw * h) / rh));
  } else if ((m = /^(!)?(\d+),(\d+)$/.exec(spec))) {
    const bw = Number(m[2]);
    const bh = Number(m[3]);
    if (m[1]) {
      const k = Math.min(1, bw / rw, bh / rh);
      w = Math.max(1, Math.round(rw * k));
      h = Math.max(1, Math.round(rh * k));
    } else {
      w = bw;
      h = bh;
    }
  } else throw new IiifParamError(`invalid size "${spec}"`);
  if (w < 1 || h < 1) throw new IiifParamError(`size "${spec}" is empty`);
  if (w > rw || h > rh)
    throw new IiifParamError(`size "${spec}" is larger than the region (upscaling is not supported)`);
  if (w * h > maxArea) throw new IiifParamError(`size "${spec}" exceeds the maximum area of ${maxArea} pixels`);
  return { width: w, height: h };
}
