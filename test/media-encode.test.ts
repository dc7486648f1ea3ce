import { describe, expect, it } from "vitest";
import { PhotonImage } from "@cf-wasm/photon";
import { encodeRaster } from "../src/media/encode";
import { decodeJpeg } from "../src/media/jpeg-decode";
import { encodeJpeg } from "../src/media/jpeg-encode";
import { probeImage } from "../src/media/probe";
import type { Raster } from "../src/media/raster";
import { fixturePhoto, pattern } from "./helpers/image-fixtures";

/** PSNR of the luma of two rasters, in dB (4:2:0 output is judged on luma; chroma is half resolution by design). */
function lumaPsnr(a: Raster, b: Raster): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  const y = (d: Uint8Array, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  let se = 0;
  for (let i = 0; i < a.data.length; i += 4) se += (y(a.data, i) - y(b.data, i)) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.data.length) / 4 / se);
}

/** An independent decoder (photon's, the image crate's) for what our encoder writes. */
function photonDecode(bytes: Uint8Array): Raster {
  const img = PhotonImage.new_from_byteslice(bytes);
  try {
    return { width: img.get_width(), height: img.get_height(), data: img.get_raw_pixels() };
  } finally {
    img.free();
  }
}

/** The SOF0 segment: [precision, height, width, components, then id/sampling/table per component]. */
function frameHeader(jpeg: Uint8Array) {
  for (let p = 2; p < jpeg.length;) {
    const marker = jpeg[p + 1];
    const len = (jpeg[p + 2] << 8) | jpeg[p + 3];
    if (marker === 0xc0) {
      const s = jpeg.subarray(p + 4, p + 2 + len);
      return {
        height: (s[1] << 8) | s[2],
        width: (s[3] << 8) | s[4],
        comps: [...Array(s[5])].map((_, i) => ({ id: s[6 + 3 * i], sampling: s[7 + 3 * i] })),
      };
    }
    p += 2 + len;
  }
  return null;
}

describe("JPEG encoder", () => {
  it("writes baseline 4:2:0 that an independent decoder and ours read back close to the source", async () => {
    const photo = decodeJpeg(await fixturePhoto());
    for (const [w, h] of [
      [photo.width, photo.height],
      [1, 1],
      [17, 9],
      [333, 8],
      [8, 333],
    ]) {
      const src: Raster =
        w === photo.width
          ? photo
          : { width: w, height: h, data: decodeJpeg(await fixturePhoto(), 1, { x: 5, y: 7, w, h }).data };
      const jpeg = encodeJpeg(src, 90);
      expect(probeImage(jpeg)).toMatchObject({ mime: "image/jpeg", width: w, height: h });
      expect(frameHeader(jpeg)).toEqual({
        width: w,
        height: h,
        comps: [
          { id: 1, sampling: 0x22 },
          { id: 2, sampling: 0x11 },
          { id: 3, sampling: 0x11 },
        ],
      });
      const theirs = photonDecode(jpeg);
      const ours = decodeJpeg(jpeg);
      expect(lumaPsnr(theirs, src), `photon, ${w}×${h}`).toBeGreaterThan(38);
      expect(lumaPsnr(ours, src), `ours, ${w}×${h}`).toBeGreaterThan(38);
    }
  });

  it("trades size for fidelity with quality, libjpeg's scale (1 and 100 included)", () => {
    const src: Raster = { width: 256, height: 192, data: pattern(256, 192) };
    const sizes: number[] = [];
    const fidelity: number[] = [];
    for (const q of [1, 25, 50, 75, 95, 100]) {
      const jpeg = encodeJpeg(src, q);
      sizes.push(jpeg.length);
      fidelity.push(lumaPsnr(photonDecode(jpeg), src));
    }
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i], `size at step ${i}`).toBeGreaterThan(sizes[i - 1]);
      expect(fidelity[i], `PSNR at step ${i}`).toBeGreaterThan(fidelity[i - 1]);
    }
    expect(fidelity[0]).toBeLessThan(30);
    expect(fidelity[5]).toBeGreaterThan(45);
  });

  it("stuffs 0xFF bytes and keeps extreme coefficients within baseline's range", () => {
    // Full-range noise at quality 100 (quantizers of 1): the largest coefficients and many 0xFF bytes in the data.
    let seed = 7;
    const data = new Uint8Array(64 * 48 * 4).map((_, i) => {
      if (i % 4 === 3) return 255;
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 31 ? 255 : 0;
    });
    const src: Raster = { width: 64, height: 48, data };
    const jpeg = encodeJpeg(src, 100);
    const body = jpeg.subarray(jpeg.length - 2 - 1000, jpeg.length - 2);
    let stuffed = 0;
    for (let i = 0; i < body.length - 1; i++)
      if (body[i] === 0xff) {
        expect(body[i + 1], `after 0xFF at ${i}`).toBe(0);
        stuffed++;
      }
    expect(stuffed).toBeGreaterThan(0);
    expect(lumaPsnr(photonDecode(jpeg), src)).toBeGreaterThan(25);
    expect(lumaPsnr(decodeJpeg(jpeg), src)).toBeGreaterThan(25);
  });

  it("composites transparency over white and refuses a raster whose size does not match", () => {
    const clear: Raster = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 4) };
    const out = decodeJpeg(encodeRaster(clear, "jpg", 90));
    expect(Math.min(...out.data)).toBeGreaterThanOrEqual(250);
    expect(() => encodeJpeg({ width: 4, height: 4, data: new Uint8Array(10) }, 90)).toThrow(RangeError);
    expect(() => encodeJpeg({ width: 0, height: 4, data: new Uint8Array(0) }, 90)).toThrow(RangeError);
  });
});
