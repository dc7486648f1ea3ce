import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { photonDecodeCount, photonTrapCount } from "../src/media/encode";
import { CorruptImageError, UnsupportedImageError } from "../src/media/errors";
import { decodeJpeg } from "../src/media/jpeg-decode";
import { encodeJpeg } from "../src/media/jpeg-encode";
import { decodePng } from "../src/media/png-decode";
import type { Raster } from "../src/media/raster";
import { cropRaster, renderRegion } from "../src/media/render";
import { call, expectError } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { imageInfo } from "./helpers/image-fixtures";
import { PhotonImage } from "@cf-wasm/photon";

const local = async (name: string) =>
  new Uint8Array(await (await env.FIXTURES.fetch(`http://fixtures/local/${name}`)).arrayBuffer());

/** Peak signal-to-noise ratio over RGB, in dB. */
function psnr(a: Raster, b: Raster, gray = false): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const ref = gray ? Math.round(0.299 * b.data[i] + 0.587 * b.data[i + 1] + 0.114 * b.data[i + 2]) : b.data[i + c];
      se += (a.data[i + c] - ref) ** 2;
      n++;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}

function boxAverage(r: Raster, s: number): Raster {
  const w = Math.ceil(r.width / s);
  const h = Math.ceil(r.height / s);
  const data = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        let n = 0;
        for (let yy = y * s; yy < Math.min(r.height, (y + 1) * s); yy++)
          for (let xx = x * s; xx < Math.min(r.width, (x + 1) * s); xx++, n++)
            sum += r.data[(yy * r.width + xx) * 4 + c];
        data[(y * w + x) * 4 + c] = Math.round(sum / n);
      }
  return { width: w, height: h, data };
}

describe("streaming decoders", () => {
  it("decode baseline JPEGs (4:2:0 with restart markers, 4:2:2, 4:4:4, grayscale) close to the source", async () => {
    const ref = decodePng(await local("media-reference.png"));
    expect([ref.width, ref.height]).toEqual([203, 147]);
    for (const [name, gray, min] of [
      ["media-restart.jpg", false, 28],
      ["media-restart-422.jpg", false, 28],
      ["media-444.jpg", false, 30],
      ["media-gray.jpg", true, 30],
    ] as const) {
      expect(psnr(decodeJpeg(await local(name)), ref, gray), name).toBeGreaterThan(min);
    }
  });

  it("scale in the DCT domain: 1/2, 1/4, 1/8 equal the box-averaged full decode", async () => {
    const bytes = await local("media-444.jpg");
    const full = decodeJpeg(bytes);
    for (const s of [2, 4, 8] as const) {
      const small = decodeJpeg(bytes, s);
      expect([small.width, small.height]).toEqual([Math.ceil(203 / s), Math.ceil(147 / s)]);
      expect(psnr(small, boxAverage(full, s))).toBeGreaterThan(35);
    }
  });

  it("decode a region exactly as the crop of the full decode", async () => {
    for (const name of ["media-restart.jpg", "media-444.jpg"]) {
      const bytes = await local(name);
      const full = decodeJpeg(bytes);
      const rect = { x: 37, y: 21, w: 90, h: 70 };
      expect(decodeJpeg(bytes, 1, rect).data).toEqual(cropRaster(full, rect).data);
    }
    const png = await local("media-reference.png");
    expect(decodePng(png, 1, { x: 5, y: 140, w: 198, h: 7 }).data).toEqual(
      cropRaster(decodePng(png), { x: 5, y: 140, w: 198, h: 7 }).data,
    );
  });

  it("decode palette, 16-bit grey and RGBA PNGs", async () => {
    const ref = decodePng(await local("media-reference.png"));
    expect(psnr(decodePng(await local("media-palette.png")), ref)).toBeGreaterThan(18);
    const gray8 = decodePng(await local("media-gray8.png"));
    expect(psnr(decodePng(await local("media-gray16.png")), gray8)).toBeGreaterThan(45);
    const rgba = decodePng(await local("media-rgba.png"));
    expect(rgba.data[3]).toBeGreaterThanOrEqual(127);
    expect(rgba.data[3]).toBeLessThanOrEqual(128);
    expect(psnr(rgba, ref)).toBeGreaterThan(40);
  });

  it("decode progressive JPEGs too (every scan kept as coefficients), with DCT scaling and regions", async () => {
    const ref = decodePng(await local("media-reference.png"));
    const prog = await local("media-progressive.jpg");
    expect(psnr(decodeJpeg(prog), ref)).toBeGreaterThan(25);
    // 4:4:4 (no chroma upsampling to differ on): the same pixels as photon's own decoder.
    const prog444 = await local("media-progressive-444.jpg");
    const ours = decodeJpeg(prog444);
    const img = PhotonImage.new_from_byteslice(prog444);
    const theirs = { width: img.get_width(), height: img.get_height(), data: img.get_raw_pixels() };
    img.free();
    expect(psnr(ours, theirs)).toBeGreaterThan(45);
    const rect = { x: 11, y: 7, w: 40, h: 30 };
    expect(decodeJpeg(prog444, 2, rect).data).toEqual(cropRaster(decodeJpeg(prog444, 2), rect).data);
    for (let cut = 700; cut < prog.length - 2; cut += 97)
      expect(() => decodeJpeg(prog.slice(0, cut)), `cut ${cut}`).toThrow(CorruptImageError);
  });

  it("leave interlaced PNGs to the guarded photon fallback", async () => {
    const inter = await local("media-interlaced.png");
    expect(() => decodePng(inter)).toThrow(UnsupportedImageError);
    const before = photonDecodeCount();
    const half = renderRegion({ bytes: inter, width: 203, height: 147 }, { x: 0, y: 0, w: 203, h: 147 }, 101, 73);
    expect([half.width, half.height]).toEqual([101, 73]);
    expect(photonDecodeCount()).toBe(before + 1);
  });

  it("throw CorruptImageError (never anything else) on every truncation of a JPEG and a PNG", async () => {
    for (const name of ["media-restart.jpg", "media-444.jpg", "media-reference.png"]) {
      const bytes = await local(name);
      const decode = name.endsWith(".png") ? decodePng : decodeJpeg;
      for (let cut = 0; cut < bytes.length - 2; cut += Math.max(1, Math.floor(bytes.length / 150))) {
        let err: unknown = null;
        try {
          decode(bytes.slice(0, cut));
        } catch (e) {
          err = e;
        }
        expect(err, `${name} cut at ${cut}`).toBeInstanceOf(CorruptImageError);
      }
    }
  });
});

describe("bit rot", () => {
  it("is a CorruptImageError or a (garbled) image, never another exception, for JPEG (baseline, progressive) and PNG", async () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const outcomes = new Map<string, number>();
    for (const name of [
      "media-restart.jpg",
      "media-progressive.jpg",
      "media-progressive-444.jpg",
      "media-palette.png",
      "media-rgba.png",
    ]) {
      const good = await local(name);
      const decode = name.endsWith(".png") ? decodePng : decodeJpeg;
      for (let n = 0; n < 120; n++) {
        const b = good.slice();
        const flips = 1 + Math.floor(rand() * 6);
        for (let f = 0; f < flips; f++) b[2 + Math.floor(rand() * (b.length - 2))] ^= 1 << Math.floor(rand() * 8);
        let kind = "ok";
        try {
          decode(b, n % 2 ? 2 : 1);
        } catch (e) {
          kind = (e as Error).constructor.name;
        }
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      }
    }
    const allowed = new Set(["ok", "CorruptImageError", "UnsupportedImageError", "ImageTooLargeError"]);
    expect(
      [...outcomes.keys()].filter((k) => !allowed.has(k)),
      JSON.stringify([...outcomes]),
    ).toEqual([]);
    expect(outcomes.get("CorruptImageError") ?? 0).toBeGreaterThan(50);
  });
});

describe("the photon fallback (WebP here)", () => {
  const webp = (w: number, h: number) => {
    const px = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) & 255));
    const img = new PhotonImage(px, w, h);
    try {
      return img.get_bytes_webp();
    } finally {
      img.free();
    }
  };

  it("refuses with 413 and the limit a WebP whose decode would not fit, before decoding it", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const big = await insertImage(ds.id, { bytes: webp(2100, 2100), width: 2100, height: 2100, mime: "image/webp" });
    await expectError(
      call("GET", `/api/v1/ui/images/${big.id}/downsample/?source_width=100&source_height=100`, { key: user.key }),
      413,
      /limit is 4194304 pixels/,
    );
  });

  it("answers 422 when photon traps on a corrupt WebP, and the next valid request works", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const good = webp(120, 80);
    const bad = good.slice();
    for (let i = 40; i < bad.length; i += 3) bad[i] ^= 0xff;
    const badImg = await insertImage(ds.id, { bytes: bad, width: 120, height: 80, mime: "image/webp" });
    const goodImg = await insertImage(ds.id, { bytes: good, width: 120, height: 80, mime: "image/webp" });
    const before = photonTrapCount();
    for (let i = 0; i < 5; i++) {
      await expectError(
        call("GET", `/api/v1/ui/images/${badImg.id}/downsample/?source_width=100&source_height=${50 + i}`, {
          key: user.key,
        }),
        422,
      );
    }
    expect(photonTrapCount()).toBeGreaterThan(before);
    const res = await call(
      "GET",
      `/api/v1/ui/images/${goodImg.id}/downsample/?source_width=120&source_height=80&downscale=0.5`,
      { key: user.key },
    );
    expect(await imageInfo(res)).toMatchObject({ mime: "image/jpeg", width: 60, height: 40 });
  });
});

describe("the entropy reader's chunks", () => {
  it("decode the same pixels wherever a chunk ends, restart markers included", async () => {
    const { entropyChunk } = await import("../src/media/jpeg-huffman");
    // Full-range noise at quality 100 (our encoder): blocks of ~200 bytes, the largest a block gets in practice.
    let seed = 11;
    const noise = new Uint8Array(64 * 64 * 4).map((_, i) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return i % 4 === 3 ? 255 : seed >>> 24;
    });
    const inputs: [string, Uint8Array][] = [
      ["media-restart.jpg", await local("media-restart.jpg")],
      ["media-restart-422.jpg", await local("media-restart-422.jpg")],
      ["noise at q100", encodeJpeg({ width: 64, height: 64, data: noise }, 100)],
    ];
    for (const [name, bytes] of inputs) {
      const want = decodeJpeg(bytes);
      const saved = entropyChunk.bytes;
      try {
        // Restart intervals here are ~300 bytes: every offset of a chunk end relative to a marker comes up; the
        // noise's blocks need the reader's headroom.
        for (let size = 576; size < 960; size++) {
          entropyChunk.bytes = size;
          let got: Raster | null = null;
          try {
            got = decodeJpeg(bytes);
          } catch (e) {
            throw new Error(`${name}, chunks of ${size} bytes: ${(e as Error).message}`);
          }
          expect(got.data.length, `${name}, chunks of ${size}`).toBe(want.data.length);
          expect(Buffer.from(got.data).equals(Buffer.from(want.data)), `${name}, chunks of ${size}`).toBe(true);
        }
      } finally {
        entropyChunk.bytes = saved;
      }
    }
  });
});
