/**
 * COCO RLE masks (pycocotools' compressed string or an uncompressed counts array, column-major) turned into
 * polygons: one outer contour per 4-connected region, traced along pixel edges and reduced to its corners.
 * Holes are dropped (Remo's polygons have none).
 */

/** Guard against a mask that would not fit a Worker (h*w bytes). */
export const MAX_MASK_PIXELS = 40_000_000;

export function decodeRleCounts(counts: string | number[]): number[] {
  if (Array.isArray(counts)) return counts;
  const out: number[] = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      const c = counts.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && c & 0x10) x |= -1 << (5 * k);
      if (p > counts.length) break;
    }
    if (out.length > 2) x += out[out.length - 2];
    out.push(x);
  }
  return out;
}

export function rleToMask(counts: number[], h: number, w: number): Uint8Array | null {
  if (!(h > 0 && w > 0) || h * w > MAX_MASK_PIXELS) return null;
  const m = new Uint8Array(h * w);
  let pos = 0;
  let v = 0;
  for (const c of counts) {
    if (c < 0) return null;
    const end = Math.min(pos + c, m.length);
    if (v) m.fill(1, pos, end);
    pos = end;
    v ^= 1;
  }
  return m;
}

// Directions E, S, W, N (y grows downwards).
const DX = [1, 0, -1, 0];
const DY = [0, 1, 0, -1];

/** Polygons ([x1, y1, x2, y2, ...] in pixel-corner coordinates) of a column-major mask. */
export function maskToPolygons(mask: Uint8Array, h: number, w: number, maxPolygons = 1000): number[][] {
  const at = (x: number, y: number) => (x >= 0 && y >= 0 && x < w && y < h ? mask[x * h + y] : 0);
  const seen = new Uint8Array(h * w);
  const polys: number[][] = [];
  const stack: number[] = [];
  for (let y = 0; y < h && polys.length < maxPolygons; y++) {
    for (let x = 0; x < w; x++) {
      if (!at(x, y) || seen[x * h + y]) continue;
      // Mark the region so it is traced once.
      stack.push(x, y);
      seen[x * h + y] = 1;
      while (stack.length) {
        const sy = stack.pop()!;
        const sx = stack.pop()!;
        for (let d = 0; d < 4; d++) {
          const nx = sx + DX[d];
          const ny = sy + DY[d];
          if (at(nx, ny) && !seen[nx * h + ny]) {
            seen[nx * h + ny] = 1;
            stack.push(nx, ny);
          }
        }
      }
      polys.push(trace(at, x, y));
      if (polys.length >= maxPolygons) break;
    }
  }
  return polys.filter((p) => p.length >= 6);
}

/** Follows the region's outer boundary from the top-left corner of its first pixel, inside on the right. */
function trace(at: (x: number, y: number) => number, x0: number, y0: number): number[] {
  const inside = (cx: number, cy: number, d: number, side: 1 | -1) => {
    // The pixel right (side 1) or left (side -1) of the edge leaving corner (cx, cy) in direction d.
    const rx = -DY[d] * side;
    const ry = DX[d] * side;
    return at(cx + Math.min(0, DX[d]) + Math.min(0, rx), cy + Math.min(0, DY[d]) + Math.min(0, ry));
  };
  const pts: number[] = [];
  let cx = x0;
  let cy = y0;
  let d = 0;
  let prev = -1;
  const limit = 4 * (x0 + 1) * (y0 + 1) + 10_000_000;
  for (let step = 0; step < limit; step++) {
    // Right first keeps the traced region 4-connected at diagonal touches.
    let next = -1;
    for (const turn of [1, 0, 3, 2]) {
      const nd = (d + turn) % 4;
      if (inside(cx, cy, nd, 1) && !inside(cx, cy, nd, -1)) {
        next = nd;
        break;
      }
    }
    if (next < 0) break;
    if (next !== prev) pts.push(cx, cy);
    prev = next;
    d = next;
    cx += DX[d];
    cy += DY[d];
    if (cx === x0 && cy === y0) break;
  }
  return pts;
}

export function rleToPolygons(seg: { counts: string | number[]; size: [number, number] }): number[][] | null {
  const [h, w] = seg.size;
  const mask = rleToMask(decodeRleCounts(seg.counts), h, w);
  return mask ? maskToPolygons(mask, h, w) : null;
}
