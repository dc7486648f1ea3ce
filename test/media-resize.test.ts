import { describe, expect, it } from "vitest";
import type { Raster } from "../src/media/raster";
import { resizeRaster } from "../src/media/resize";

/**
 * The filter written plainly (floating point, one output sample at a time, colour weighted by alpha): what
 * resizeRaster must compute.
 */
function reference(src: Raster, width: number, height: number): Raster {
  const taps = (inSize: number, outSize: number, o: number) => {
    const scale = inSize / outSize;
    const support = Math.max(1, scale);
    const center = (o + 0.5) * scale - 0.5;
    const out: [number, number][] = [];
    for (
      let i = Math.max(0, Math.floor(center - support + 1));
      i <= Math.min(inSize - 1, Math.ceil(center + support - 1));
      i++
    )
      out.push([i, Math.max(0, 1 - Math.abs(i - center) / support)]);
    const total = out.reduce((a, [, w]) => a + w, 0);
    if (total <= 0) return [[Math.min(inSize - 1, Math.max(0, Math.round(center))), 1]] as [number, number][];
    return out.map(([i, w]) => [i, w / total] as [number, number]);
  };
  // Colour weighted by alpha (premultiplied): sum(c·a·w) / sum(a·w); alpha sum(a·w).
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = [0, 0, 0, 0];
      for (const [sy, wy] of taps(src.height, height, y))
        for (const [sx, wx] of taps(src.width, width, x)) {
          const i = (sy * src.width + sx) * 4;
          const a = src.data[i + 3];
          for (let c = 0; c < 3; c++) v[c] += src.data[i + c] * a * wx * wy;
          v[3] += a * wx * wy;
        }
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = v[3] ? Math.round(v[c] / v[3]) : 0;
      data[o + 3] = Math.round(v[3]);
    }
  return { width, height, data };
}

function noise(width: number, height: number, opaque: boolean): Raster {
  let seed = width * 7919 + height;
  const data = new Uint8Array(width * height * 4).map((_, i) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return opaque && i % 4 === 3 ? 255 : seed >>> 24;
  });
  return { width, height, data };
}

describe("resizeRaster", () => {
  it("matches the plainly written filter within rounding, on every path (few or many taps, opaque or not, either pass first)", () => {
    const cases: [number, number, number, number][] = [
      [110, 90, 77, 63], // ~0.7 both ways: up to four taps per pass
      [110, 90, 27, 22], // ~1/4: many taps
      [40, 30, 97, 71], // enlarging both ways
      [40, 30, 40, 71], // height only
      [97, 30, 40, 30], // width only
      [50, 50, 120, 20], // wider, shorter
      [1, 1, 5, 3], // one pixel
    ];
    for (const [w, h, ow, oh] of cases)
      for (const opaque of [true, false]) {
        const src = noise(w, h, opaque);
        // First: resizeRaster premultiplies a raster with alpha in place.
        const want = reference(src, ow, oh);
        const got = resizeRaster(src, ow, oh);
        expect([got.width, got.height, got.data.length]).toEqual([ow, oh, ow * oh * 4]);
        let worst = 0;
        for (let i = 0; i < want.data.length; i++) {
          const a = want.data[i - (i % 4) + 3];
          // A colour under alpha below 16 of 255 is all but invisible, and premultiplied rounding shows there.
          if (i % 4 !== 3 && a < 16) continue;
          // 8-bit premultiplied samples are off by up to 2.5 steps, which unpremultiplying scales by 255 / alpha.
          const slack = i % 4 === 3 || a === 255 ? 0 : Math.ceil((2.5 * 255) / a);
          worst = Math.max(worst, Math.abs(got.data[i] - want.data[i]) - slack);
        }
        // Two passes each rounding to 8 bits: at most 1 step apart from the exact value, plus one.
        expect(worst, `${w}×${h} → ${ow}×${oh}, opaque ${opaque}`).toBeLessThanOrEqual(2);
        if (opaque) expect(got.data.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
      }
  });

  it("returns the same raster when the size does not change", () => {
    const src = noise(13, 7, true);
    expect(resizeRaster(src, 13, 7)).toBe(src);
  });
});
