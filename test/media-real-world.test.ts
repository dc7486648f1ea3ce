import { datasetD1 } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { derivedPath, imageUrls } from "../src/lib/image-urls";
import { decodeJpeg } from "../src/media/jpeg-decode";
import { photonDecodeCount } from "../src/media/encode";
import { UnsupportedImageError } from "../src/media/errors";
import { ImageEndScanner } from "../src/media/image-end";
import { decodePng } from "../src/media/png-decode";
import { MAX_HEADER_BYTES, probeImage, probeObject } from "../src/media/probe";
import type { Raster } from "../src/media/raster";
import { coarsestScale, renderRegion } from "../src/media/render";
import { resizeRaster } from "../src/media/resize";
import { call, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { buildJpeg, buildPng, concatBytes, exifSegment, raster, segment, sofOffset } from "./helpers/image-builders";
import { imageInfo } from "./helpers/image-fixtures";
import { datasetImages, uploadMultipart, waitForSession } from "./helpers/upload-helpers";

const px = (r: Raster, x: number, y: number) => [...r.data.subarray((y * r.width + x) * 4, (y * r.width + x) * 4 + 4)];
const near = (got: number[], want: number[], tol = 24) => got.every((v, i) => Math.abs(v - want[i]) <= tol);

const RED = [220, 30, 30];
const GREEN = [30, 200, 40];
const BLUE = [30, 40, 220];
const WHITE = [250, 250, 250];

describe("every render of a tiny image returns, with every size at least 1", () => {
  it("renders 1×1 and 2×2 PNGs and a 32×32 PNG at 1×1, and the scale search stays within the crop", () => {
    for (const side of [1, 2, 32]) {
      const png = buildPng(side, side, 2, 8, (x, y) => [x * 7, y * 7, 99]);
      const out = renderRegion({ bytes: png, width: side, height: side }, { x: 0, y: 0, w: side, h: side }, 1, 1);
      expect([out.width, out.height]).toEqual([1, 1]);
    }
    expect(coarsestScale({ x: 0, y: 0, w: 1, h: 1 }, 1, 1, 1 << 16)).toBe(1);
    expect(coarsestScale({ x: 0, y: 0, w: 32, h: 32 }, 1, 1, 1 << 16)).toBe(32);
    expect(coarsestScale({ x: 0, y: 0, w: 5000, h: 3 }, 10, 1, 8)).toBe(3);
  });

  it("serves IIIF full/max, pct:50, downsample and thumbnail of 1×1 and 2×2 PNGs, and the Worker keeps answering", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    for (const side of [1, 2]) {
      const bytes = buildPng(side, side, 6, 8, () => [10, 200, 30, 255]);
      const img = await insertImage(ds.id, { bytes, width: side, height: side, mime: "image/png" });
      const links = await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/deepzoom/`, { key: user.key }), 200);
      const base = links.iiif.replace(/\/info\.json$/, "");
      const full = await imageInfo(await get(`${base}/full/max/0/default.jpg`));
      expect([full.width, full.height]).toEqual([side, side]);
      const half = await imageInfo(await get(`${base}/full/pct:50/0/default.jpg`));
      expect([half.width, half.height]).toEqual([1, 1]);
      const down = await call(
        "GET",
        `/api/v1/ui/images/${img.id}/downsample/?source_width=${side}&source_height=${side}&downscale=0.01`,
        { key: user.key },
      );
      expect([(await imageInfo(down)).width]).toEqual([1]);
      const urls = await imageUrls(env, { id: img.id, originalName: "tiny.png" });
      const thumb = await imageInfo(await get(urls.thumbnail));
      expect([thumb.width, thumb.height]).toEqual([side, side]);
    }
    expect((await get("/healthz")).status).toBe(200);
  });
});

describe("a DCT scale never reads beyond the image's real pixels", () => {
  it("a 2×2 JPEG asked for at 1×1 is the mean of its 4 pixels, not of its 8×8 block's padding", () => {
    // An 8×8 picture, red in its top-left 2×2 and blue elsewhere, whose frame header then says 2×2: the block's
    // other 60 pixels are padding a decoder must not show.
    const jpeg = buildJpeg(raster(8, 8, (x, y) => (x < 2 && y < 2 ? RED : BLUE)));
    const sof = sofOffset(jpeg);
    jpeg.set([0, 2, 0, 2], sof + 5);
    const out = renderRegion({ bytes: jpeg, width: 2, height: 2 }, { x: 0, y: 0, w: 2, h: 2 }, 1, 1);
    expect(near(px(out, 0, 0).slice(0, 3), RED, 40), `got ${px(out, 0, 0)}`).toBe(true);
  });
});

describe("JPEG headers found however far they are, and what follows the end ignored", () => {
  const base = () => raster(24, 16, (x) => (x < 12 ? RED : GREEN));
  // Five full APP2 segments (ICC-profile sized): the frame header lies past 320 KiB.
  const bigApp = () => Array.from({ length: 5 }, (_, k) => segment(0xe2, new Uint8Array(65533).fill(k + 1)));

  it("probes a JPEG whose SOF sits after 320 KiB of APPn segments, in memory and by ranged reads", async () => {
    const jpeg = buildJpeg(base(), [exifSegment(6), ...bigApp()]);
    expect(sofOffset(jpeg)).toBeGreaterThan(320 * 1024);
    expect(probeImage(jpeg)).toEqual({ mime: "image/jpeg", width: 16, height: 24, orientation: 6 });
    let reads = 0;
    const read = async (o: number, n: number) => (reads++, jpeg.slice(o, o + n));
    expect(await probeObject(read, jpeg.length)).toEqual({ mime: "image/jpeg", width: 16, height: 24, orientation: 6 });
    expect(reads).toBeLessThanOrEqual(3);
    // A header that never reaches a frame: the walk stops at MAX_HEADER_BYTES, not at the end of the file.
    // SOI, then 64 KiB comment segments back to back for a whole gigabyte.
    const SEG = 65537;
    const endless = async (o: number, n: number) => {
      reads++;
      const w = new Uint8Array(n);
      for (let p = o; p < o + n; p++) {
        const k = p < 2 ? -1 : (p - 2) % SEG;
        w[p - o] = p === 0 ? 0xff : p === 1 ? 0xd8 : k === 0 || k === 2 || k === 3 ? 0xff : k === 1 ? 0xfe : 0;
      }
      return w;
    };
    reads = 0;
    expect(await probeObject(endless, 1 << 30)).toBeNull();
    expect(reads).toBeGreaterThan(MAX_HEADER_BYTES / (256 * 1024) - 4);
    expect(reads).toBeLessThanOrEqual(MAX_HEADER_BYTES / (256 * 1024) + 2);
    // Cut inside the APPn run: no header, and the walk ends.
    reads = 0;
    expect(await probeObject(async (o, n) => (reads++, jpeg.slice(o, Math.min(o + n, 200_000))), 200_000)).toBeNull();
    expect(reads).toBeLessThanOrEqual(3);
  });

  it("reads the structural end of JPEG and PNG in any chunking: trailers after EOI/IEND count as complete, cuts do not", () => {
    const jpeg = buildJpeg(base(), [exifSegment(1)]);
    const png = buildPng(5, 4, 2, 8, () => [1, 2, 3]);
    const trailer = new Uint8Array(5000).fill(0xab); // a phone's trailer after EOI, junk after IEND
    const cases: [string, Uint8Array, "image/jpeg" | "image/png", boolean][] = [
      ["jpeg", jpeg, "image/jpeg", true],
      ["jpeg + trailer", concatBytes(jpeg, trailer), "image/jpeg", true],
      ["jpeg cut before EOI", jpeg.subarray(0, jpeg.length - 2), "image/jpeg", false],
      ["jpeg cut in its scan", jpeg.subarray(0, jpeg.length - 40), "image/jpeg", false],
      ["png", png, "image/png", true],
      ["png + bytes after IEND", concatBytes(png, trailer), "image/png", true],
      ["png cut before IEND", png.subarray(0, png.length - 12), "image/png", false],
    ];
    for (const [name, bytes, mime, complete] of cases)
      for (const size of [1, 3, 7, 64, 1 << 20]) {
        const s = new ImageEndScanner(mime);
        for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
        expect(s.complete, `${name}, chunks of ${size}`).toBe(complete);
      }
  });

  it("ingests a PNG with bytes after IEND and a JPEG whose SOF is past 256 KiB, at their upright sizes", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const png = buildPng(6, 5, 2, 8, () => [9, 9, 9], { after: new Uint8Array(300).fill(7) });
    const jpeg = buildJpeg(base(), bigApp());
    const cut = buildPng(6, 5, 2, 8, () => [9, 9, 9]);
    const r = await expectStatus(
      uploadMultipart(
        user.key,
        ds.id,
        [
          { name: "after-iend.png", bytes: png },
          { name: "far-sof.jpg", bytes: jpeg },
          { name: "cut.png", bytes: cut.subarray(0, cut.length - 12) },
        ],
        { complete: "true" },
      ),
      200,
    );
    const s = await waitForSession(user.key, r.session_id);
    const rows = await datasetImages(ds.id);
    expect(rows.map((i) => [i.original_name, i.width, i.height])).toEqual([
      ["after-iend.png", 6, 5],
      ["far-sof.jpg", 24, 16],
    ]);
    expect(JSON.stringify(s)).toContain("truncated image (no PNG IEND chunk)");
  });
});

describe("PNG transparency and premultiplied resampling", () => {
  it("honours tRNS on RGB (8 and 16 bit) and on grey below 8 bits and at 16 bits", () => {
    const cases: [string, Uint8Array, number[]][] = [
      ["rgb8", buildPng(2, 1, 2, 8, (x) => (x ? [10, 20, 30] : [1, 2, 3]), { trns: [0, 10, 0, 20, 0, 30] }), [255, 0]],
      [
        "rgb16",
        buildPng(2, 1, 2, 16, (x) => (x ? [1000, 2000, 3000] : [1000, 2000, 3001]), {
          trns: [1000 >> 8, 1000 & 255, 2000 >> 8, 2000 & 255, 3000 >> 8, 3000 & 255],
        }),
        [255, 0],
      ],
      ["gray1", buildPng(2, 1, 0, 1, (x) => [x]), [255, 255]],
      ["gray1 key", buildPng(2, 1, 0, 1, (x) => [x], { trns: [0, 1] }), [255, 0]],
      ["gray2 key", buildPng(4, 1, 0, 2, (x) => [x], { trns: [0, 2] }), [255, 255, 0, 255]],
      ["gray4 key", buildPng(2, 1, 0, 4, (x) => [x ? 15 : 3], { trns: [0, 3] }), [0, 255]],
      ["gray16 key", buildPng(2, 1, 0, 16, (x) => [x ? 513 : 512], { trns: [2, 0] }), [0, 255]],
    ];
    for (const [name, bytes, alphas] of cases) {
      const r = decodePng(bytes);
      expect(
        alphas.map((_, x) => r.data[x * 4 + 3]),
        name,
      ).toEqual(alphas);
    }
  });

  it("a transparent-black/opaque-white edge stays white when scaled, in the PNG decoder and in the resampler", () => {
    const png = buildPng(2, 2, 6, 8, (x) => (x ? [255, 255, 255, 255] : [0, 0, 0, 0]));
    const scaled = decodePng(png, 2);
    expect(px(scaled, 0, 0)).toEqual([255, 255, 255, 128]);
    const r = raster(4, 1, (x) => (x < 2 ? [0, 0, 0, 0] : [255, 255, 255, 255]));
    const out = resizeRaster(r, 2, 1);
    for (let x = 0; x < 2; x++) {
      const [R, G, B, A] = px(out, x, 0);
      if (A > 0) expect([R, G, B], `pixel ${x} (alpha ${A})`).toEqual([255, 255, 255]);
    }
    const through = renderRegion({ bytes: png, width: 2, height: 2 }, { x: 0, y: 0, w: 2, h: 2 }, 1, 1);
    expect(px(through, 0, 0).slice(0, 3)).toEqual([255, 255, 255]);
  });
});

describe("JPEGs this service cannot decode are refused by name, never served as noise", () => {
  const jpeg = () => buildJpeg(raster(16, 16, () => RED));
  const cases: [string, (j: Uint8Array) => void, RegExp][] = [
    ["lossless (SOF3)", (j) => (j[sofOffset(j) + 1] = 0xc3), /lossless JPEG is not supported/],
    ["arithmetic (SOF9)", (j) => (j[sofOffset(j) + 1] = 0xc9), /arithmetic-coded JPEG is not supported/],
    ["hierarchical (SOF5)", (j) => (j[sofOffset(j) + 1] = 0xc5), /hierarchical JPEG is not supported/],
    [
      "12-bit (SOF1)",
      (j) => {
        const s = sofOffset(j);
        j[s + 1] = 0xc1;
        j[s + 4] = 12;
      },
      /12-bit JPEG is not supported/,
    ],
  ];

  it("the decoder names the kind, and photon is never handed it", () => {
    const before = photonDecodeCount();
    for (const [name, patch, message] of cases) {
      const j = jpeg();
      patch(j);
      let err: unknown;
      try {
        renderRegion({ bytes: j, width: 16, height: 16 }, { x: 0, y: 0, w: 16, h: 16 }, 8, 8);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(UnsupportedImageError);
      expect((err as Error).message, name).toMatch(message);
    }
    expect(photonDecodeCount()).toBe(before);
  });

  it("answers 415 naming what is not supported through the image routes", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const j = jpeg();
    j[sofOffset(j) + 1] = 0xc9;
    const img = await insertImage(ds.id, { bytes: j, width: 16, height: 16 });
    const res = await call(
      "GET",
      `/api/v1/ui/images/${img.id}/downsample/?source_width=16&source_height=16&downscale=0.5`,
      { key: user.key },
    );
    const body = await res.json<any>();
    expect(res.status, JSON.stringify(body)).toBe(415);
    expect(body.error).toMatch(/arithmetic-coded JPEG is not supported/);
  });
});

/** Where upright pixel (u, v) comes from in the stored grid, written out per orientation (Exif 2.32 §4.6.4). */
function storedOf(o: number, u: number, v: number, SW: number, SH: number): [number, number] {
  return (
    {
      1: [u, v],
      2: [SW - 1 - u, v],
      3: [SW - 1 - u, SH - 1 - v],
      4: [u, SH - 1 - v],
      5: [v, u],
      6: [v, SH - 1 - u],
      7: [SW - 1 - v, SH - 1 - u],
      8: [SW - 1 - v, u],
    } as Record<number, [number, number]>
  )[o];
}

describe("EXIF orientation is applied everywhere, in the upright grid", () => {
  // Stored 64×32 in four 32×16 quadrants of distinct colours: any turn or flip moves them.
  const SW = 64;
  const SH = 32;
  const quadrant = (x: number, y: number) => (x < 32 ? (y < 16 ? RED : GREEN) : y < 16 ? BLUE : WHITE);
  const stored = raster(SW, SH, quadrant);

  it("probes, decodes and crops all eight orientations as browsers show them", () => {
    for (let o = 1; o <= 8; o++) {
      const jpeg = buildJpeg(stored, [exifSegment(o, o % 2 === 0)]);
      const info = probeImage(jpeg)!;
      const [W, H] = o >= 5 ? [SH, SW] : [SW, SH];
      expect([info.width, info.height, info.orientation], `orientation ${o}`).toEqual([W, H, o]);
      const whole = renderRegion({ bytes: jpeg, width: W, height: H }, { x: 0, y: 0, w: W, h: H }, W, H);
      expect([whole.width, whole.height]).toEqual([W, H]);
      // A crop of the upright picture's top-left quarter, at half size.
      const crop = renderRegion({ bytes: jpeg, width: W, height: H }, { x: 0, y: 0, w: W / 2, h: H / 2 }, W / 4, H / 4);
      for (const [u, v] of [
        [4, 4],
        [W - 5, 4],
        [4, H - 5],
        [W - 5, H - 5],
      ]) {
        const want = quadrant(...storedOf(o, u, v, SW, SH));
        expect(near(px(whole, u, v).slice(0, 3), want), `o=${o} (${u},${v}) got ${px(whole, u, v)}`).toBe(true);
      }
      const want = quadrant(...storedOf(o, 2, 2, SW, SH));
      expect(near(px(crop, 1, 1).slice(0, 3), want), `o=${o} crop got ${px(crop, 1, 1)}`).toBe(true);
    }
    // Without EXIF the decoder alone sees the stored grid.
    expect(decodeJpeg(buildJpeg(stored)).width).toBe(SW);
  });

  it("records the upright size at upload, renders upright, and serves the original as uploaded", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const jpeg = buildJpeg(
      raster(120, 60, (x) => (x < 60 ? RED : BLUE)),
      [exifSegment(6)],
    );
    const r = await expectStatus(
      uploadMultipart(user.key, ds.id, [{ name: "turned.jpg", bytes: jpeg }], { complete: "true" }),
      200,
    );
    expect((await waitForSession(user.key, r.session_id)).status).toBe("done");
    const [row] = await datasetImages(ds.id);
    expect([row.width, row.height]).toEqual([60, 120]);
    // Orientation 6 turns the stored left (red) half to the top.
    const view = await call(
      "GET",
      `/api/v1/ui/images/${row.id}/downsample/?source_width=60&source_height=120&downscale=0.5`,
      { key: user.key },
    );
    const out = await imageInfo(view);
    expect([out.width, out.height]).toEqual([30, 60]);
    const decoded = decodeJpeg(out.bytes);
    expect(near(px(decoded, 15, 10).slice(0, 3), RED, 40)).toBe(true);
    expect(near(px(decoded, 15, 50).slice(0, 3), BLUE, 40)).toBe(true);
    const thumb = await imageInfo(await call("GET", derivedPath(row.id, "thumbnail"), { key: user.key }));
    expect([thumb.width, thumb.height]).toEqual([60, 120]);
    const urls = await imageUrls(env, { id: row.id, originalName: "turned.jpg" });
    const original = new Uint8Array(await (await get(urls.url)).arrayBuffer());
    expect(original).toEqual(jpeg);
    // A box drawn on the upright picture is kept as drawn (it used to be clamped to the stored 60-px height).
    const set = await expectStatus(
      post(
        "/api/v1/ui/annotation-sets/",
        { annotation_task: "Object detection", dataset_id: ds.id, name: "S" },
        user.key,
      ),
      201,
    );
    const box = [
      { x: 5, y: 70 },
      { x: 55, y: 115 },
    ];
    const saved = `/api/dataset/${ds.id}/annotation-set/${set.id}/image/${row.id}/save-annotation/`;
    await expectStatus(post(saved, { objects: [{ coordinates: box, classes: ["Car"] }] }, user.key), 200);
    const stored = await datasetD1({ datasetId: ds.id }).prepare("SELECT coordinates FROM annotation_objects WHERE image_id = ?")
      .bind(row.id)
      .first<{ coordinates: string }>();
    expect(JSON.parse(stored!.coordinates)).toEqual([5, 70, 55, 115]);
  });
});
