import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signScope } from "../src/lib/signing";
import { dziLevelSize, dziMaxLevel, dziTile } from "../src/media/geometry";
import { decodeJpeg } from "../src/media/jpeg-decode";
import { renderRegion } from "../src/media/render";
import { call, expectError, expectStatus, get } from "./helpers/api";
import { datasetRows } from "./helpers/dataset-rows";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { imageInfo, makeJpeg, runJob } from "./helpers/image-fixtures";

async function setup(w: number, h: number, q: number, pyramid = false) {
  const user = await createUser();
  const ds = await createDataset(user);
  const img = await insertImage(ds.id, { bytes: makeJpeg(w, h, q), width: w, height: h });
  if (pyramid) await runJob({ type: "build-pyramid", imageId: img.id });
  const links = await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/deepzoom/`, { key: user.key }), 200);
  return { user, img, ds, dzi: links.dzi as string };
}

/** What OpenSeadragon does with a .dzi: read TileSize, Overlap and Size, then ask for tiles level by level. */
async function walk(dzi: string) {
  const res = await get(dzi);
  expect(res.headers.get("content-type")).toBe("application/xml");
  const xml = await res.text();
  const attr = (name: string) => Number(new RegExp(`${name}="(\\d+)"`).exec(xml)![1]);
  const [tile, overlap, W, H] = [attr("TileSize"), attr("Overlap"), attr("Width"), attr("Height")];
  expect(xml).toContain('xmlns="http://schemas.microsoft.com/deepzoom/2008"');
  expect(xml).toContain('Format="jpg"');
  const files = dzi.replace(/\.dzi$/, "_files");
  let n = 0;
  for (let level = 0; level <= dziMaxLevel(W, H); level++) {
    const { width, height } = dziLevelSize(W, H, level);
    for (let row = 0; row * tile < height; row++) {
      for (let col = 0; col * tile < width; col++) {
        const ew = Math.min(width, (col + 1) * tile + overlap) - Math.max(0, col * tile - overlap);
        const eh = Math.min(height, (row + 1) * tile + overlap) - Math.max(0, row * tile - overlap);
        const out = await imageInfo(await get(`${files}/${level}/${col}_${row}.jpg`));
        expect([out.mime, out.width, out.height], `${level}/${col}_${row}`).toEqual(["image/jpeg", ew, eh]);
        n++;
      }
    }
  }
  return { n, W, H, tile, overlap, files };
}

describe("Deep Zoom", () => {
  it("describes the image and answers every tile of OpenSeadragon's walk with its advertised size", async () => {
    const { dzi } = await setup(1300, 700, 90);
    const { n, W, H, tile, overlap } = await walk(dzi);
    expect([W, H, tile, overlap]).toEqual([1300, 700, 254, 1]);
    // Levels 0..11; level 11 is 6 × 3 tiles, level 10 is 3 × 2, 9 is 2 × 1, the rest one each.
    expect(n).toBe(18 + 6 + 2 + 9);
  });

  it("serves a 12 MP JPEG's tiles from its pyramid, built in bands within the raster budget", async () => {
    const { dzi, img, ds } = await setup(4000, 3000, 85, true);
    const [row] = await datasetRows(
      { datasetId: ds.id },
      "SELECT pyramid_status, pyramid_levels FROM images WHERE id = ?",
      img.id,
    );
    expect(row).toEqual({ pyramid_status: "ready", pyramid_levels: 4 }); // 4000, 2000, 1000, 500
    const files = dzi.replace(/\.dzi$/, "_files");
    // Deepest level (full resolution), an inner tile; then a level served from a halved level.
    const full = await imageInfo(await get(`${files}/12/7_5.jpg`));
    expect([full.width, full.height]).toEqual([256, 256]);
    const last = await imageInfo(await get(`${files}/12/15_11.jpg`));
    expect([last.width, last.height]).toEqual([4000 - 15 * 254 + 1, 3000 - 11 * 254 + 1]);
    const mid = await imageInfo(await get(`${files}/9/1_1.jpg`));
    expect([mid.width, mid.height]).toEqual([500 - 254 + 1, 375 - 254 + 1]);
    // Level 11 is half size, built by box-halving level 0's bands in the same pass: it matches the original.
    const tile = decodeJpeg((await imageInfo(await get(`${files}/11/3_2.jpg`))).bytes);
    const t = dziTile(4000, 3000, 254, 1, 11, 3, 2)!;
    const expected = renderRegion(
      { bytes: makeJpeg(4000, 3000, 85), width: 4000, height: 3000 },
      t.crop,
      t.width,
      t.height,
    );
    // Compared on luma: JPEG output is 4:2:0 (as libjpeg's, Pillow's and sharp's defaults), so the pattern's hard
    // blue edges at odd columns of this level are averaged over two pixels in the chroma planes by design.
    const luma = (d: Uint8Array, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    let se = 0;
    for (let i = 0; i < expected.data.length; i += 4) se += (luma(tile.data, i) - luma(expected.data, i)) ** 2;
    expect(10 * Math.log10((255 * 255 * expected.data.length) / 4 / se)).toBeGreaterThan(40);
  }, 120_000);

  it("answers 404 for a tile outside the grid or a level past the last, 400 for a malformed tile name", async () => {
    const { dzi } = await setup(300, 200, 80);
    const files = dzi.replace(/\.dzi$/, "_files");
    await expectError(get(`${files}/9/2_0.jpg`), 404);
    await expectError(get(`${files}/9/0_1.jpg`), 404);
    await expectError(get(`${files}/10/0_0.jpg`), 404);
    await expectError(get(`${files}/9/a_b.jpg`), 400);
    await expectError(get(`${files}/x/0_0.jpg`), 400);
    await expectError(get(`${files}/9/0_0.png`), 400);
    await expectError(get(dzi.replace(/\.dzi$/, ".xml")), 404);
  });

  it("answers 422 for a corrupt image's tiles and 413 with the limit for one too large to decode", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const bad = await insertImage(ds.id, { bytes: makeJpeg(600, 400, 77).slice(0, 700), width: 600, height: 400 });
    await expectError(call("GET", `/dzi/${bad.id}_files/10/0_0.jpg`, { key: user.key }), 422);
    const header = new Uint8Array(33);
    header.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(header.buffer).setUint32(16, 100_000);
    new DataView(header.buffer).setUint32(20, 100_000);
    const huge = await insertImage(ds.id, { bytes: header, width: 100_000, height: 100_000, mime: "image/png" });
    const xml = await (await call("GET", `/dzi/${huge.id}.dzi`, { key: user.key })).text();
    expect(xml).toContain('Width="100000"');
    await expectError(call("GET", `/dzi/${huge.id}_files/0/0_0.jpg`, { key: user.key }), 413, /limit/);
    await expectError(call("GET", `/iiif/3/${huge.id}/full/256,/0/default.jpg`, { key: user.key }), 413, /limit/);
    await expectError(call("GET", `/iiif/3/${bad.id}/full/256,/0/default.jpg`, { key: user.key }), 422);
    await expectError(call("GET", `/files/images/${huge.id}/thumbnail.jpg`, { key: user.key }), 413, /limit/);
  });

  it("answers 403 for an unsigned, tampered or expired token, and 404 for another user's image with a key", async () => {
    const { img, user, dzi } = await setup(300, 200, 81);
    await expectError(get(`/dzi/${img.id}.dzi`), 403);
    await expectError(get(`/dzi/${img.id}_files/0/0_0.jpg`), 403);
    await expectError(get(dzi.replace(/~[\w-]+\.dzi$/, "~AAAA.dzi")), 403, /not valid/);
    const past = Math.floor(Date.now() / 1000) - 5;
    await expectError(get(`/dzi/${img.id}~${past}~${await signScope(env, `dzi:${img.id}`, past)}.dzi`), 403, /expired/);
    const own = await call("GET", `/dzi/${img.id}.dzi`, { key: user.key });
    expect(own.status).toBe(200);
    await own.text();
    const other = await createUser();
    await expectError(call("GET", `/dzi/${img.id}_files/0/0_0.jpg`, { key: other.key }), 404);
  });
});
