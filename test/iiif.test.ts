import { createExecutionContext, env } from "cloudflare:test";
import worker from "../src/index";
import { describe, expect, it } from "vitest";
import { signScope } from "../src/lib/signing";
import { call, expectError, expectStatus, get } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";
import { imageInfo, makeJpeg, runJob } from "./helpers/image-fixtures";

const W = 1300;
const H = 700;

async function setup(pyramid = false) {
  const user = await createUser();
  const ds = await createDataset(user);
  // Another quality, other bytes: tiles cached by the walk from the original are not reused by the pyramid's.
  const img = await insertImage(ds.id, { bytes: makeJpeg(W, H, pyramid ? 88 : 90), width: W, height: H });
  if (pyramid) await runJob({ type: "build-pyramid", imageId: img.id });
  const links = await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/deepzoom/`, { key: user.key }), 200);
  return { user, ds, img, links, base: links.iiif.replace(/\/info\.json$/, "") as string };
}

describe("IIIF Image API 3.0", () => {
  it("deepzoom gives signed IIIF and DZI URLs; info.json describes the image, its tiles and limits", async () => {
    const { img, links, base } = await setup();
    expect(links.iiif).toMatch(new RegExp(`^/iiif/3/${img.id}~\\d+~[\\w-]+/info\\.json$`));
    expect(links.dzi).toMatch(new RegExp(`^/dzi/${img.id}~\\d+~[\\w-]+\\.dzi$`));
    expect(Date.parse(links.expires_at)).toBeGreaterThan(Date.now());
    const res = await get(links.iiif);
    expect(res.headers.get("content-type")).toContain("application/ld+json");
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    const info = await res.json<any>();
    expect(info).toMatchObject({
      "@context": "http://iiif.io/api/image/3/context.json",
      id: `http://remo.test${base}`,
      type: "ImageService3",
      protocol: "http://iiif.io/api/image",
      profile: "level1",
      width: W,
      height: H,
      tiles: [{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8] }],
    });
    expect(info.maxArea).toBe(4 * 1024 * 1024);
    const bare = await worker.fetch(new Request(`http://remo.test${base}`), env, createExecutionContext());
    expect(bare.status).toBe(303);
    expect(bare.headers.get("location")).toBe(`${base}/info.json`);
  });

  for (const pyramid of [false, true]) {
    it(`answers every tile of OpenSeadragon's walk with the advertised size (${pyramid ? "from the pyramid" : "from the original"})`, async () => {
      const { base } = await setup(pyramid);
      const info = await (await get(`${base}/info.json`)).json<any>();
      const { width: tw, scaleFactors } = info.tiles[0];
      let n = 0;
      for (const sf of scaleFactors as number[]) {
        const step = tw * sf;
        for (let y = 0; y < H; y += step) {
          for (let x = 0; x < W; x += step) {
            const rw = Math.min(step, W - x);
            const rh = Math.min(step, H - y);
            const region = x === 0 && y === 0 && rw === W && rh === H ? "full" : `${x},${y},${rw},${rh}`;
            const w = Math.ceil(rw / sf);
            const h = Math.ceil(rh / sf);
            const res = await get(`${base}/${region}/${w},${h}/0/default.jpg`);
            expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
            const out = await imageInfo(res);
            expect([out.mime, out.width, out.height], `${region} ${w},${h}`).toEqual(["image/jpeg", w, h]);
            n++;
          }
        }
      }
      expect(n).toBe(6 * 3 + 3 * 2 + 2 * 1 + 1);
    });
  }

  it("supports square, pct regions, max, w, ,h, pct and !w,h sizes, gray, png and webp", async () => {
    const { base } = await setup();
    const cases: [string, string, number, number][] = [
      ["full/max/0/default.jpg", "image/jpeg", W, H],
      ["square/100,/0/color.jpg", "image/jpeg", 100, 100],
      ["pct:10,10,50,50/max/0/default.jpg", "image/jpeg", 650, 350],
      ["0,0,600,300/,150/0/default.jpg", "image/jpeg", 300, 150],
      ["0,0,600,300/pct:25/0/default.jpg", "image/jpeg", 150, 75],
      ["full/!200,200/0/default.jpg", "image/jpeg", 200, 108],
      ["full/130,70/0/gray.png", "image/png", 130, 70],
      ["1200,600,500,500/50,50/0/default.webp", "image/webp", 50, 50],
    ];
    for (const [path, mime, w, h] of cases) {
      const out = await imageInfo(await get(`${base}/${path}`));
      expect([out.mime, out.width, out.height], path).toEqual([mime, w, h]);
    }
    const gray = await imageInfo(await get(`${base}/full/130,70/0/gray.png`));
    const { decodePng } = await import("../src/media/png-decode");
    const px = decodePng(gray.bytes);
    for (let i = 0; i < px.data.length; i += 4 * 97) expect(px.data[i]).toBe(px.data[i + 1]);
  });

  it("answers 400 for regions and sizes out of range or malformed, and for rotation, quality or format it does not serve", async () => {
    const { base } = await setup();
    for (const path of [
      `${W},0,10,10/max/0/default.jpg`,
      `0,${H},10,10/max/0/default.jpg`,
      "0,0,0,10/max/0/default.jpg",
      "pct:0,0,0,0/max/0/default.jpg",
      "1,2,3/max/0/default.jpg",
      "-1,0,10,10/max/0/default.jpg",
      "a,b,c,d/max/0/default.jpg",
      "pct:x/max/0/default.jpg",
      "full/0,/0/default.jpg",
      "full/abc/0/default.jpg",
      `full/${W + 1},/0/default.jpg`,
      "0,0,10,10/20,20/0/default.jpg",
      "full/pct:0/0/default.jpg",
      "full/pct:150/0/default.jpg",
      "full/5000,5000/0/default.jpg",
      "full/max/90/default.jpg",
      "full/max/!0/default.jpg",
      "full/max/0/bitonal.jpg",
      "full/max/0/default.gif",
      "full/max/0/default",
    ]) {
      await expectError(get(`${base}/${path}`), 400);
    }
  });

  it("answers 413 with the limit for a WebP larger than photon's WebP budget", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makeJpeg(2000, 1500, 70), width: 2000, height: 1500 });
    const token = (
      await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/deepzoom/`, { key: user.key }), 200)
    ).iiif.replace(/\/info\.json$/, "");
    await expectError(get(`${token}/full/max/0/default.webp`), 413, /limit is 2,500,000 pixels for WebP/);
    const ok = await imageInfo(await get(`${token}/full/max/0/default.jpg`));
    expect([ok.width, ok.height]).toEqual([2000, 1500]);
  });

  it("clamps a region that runs past the edge", async () => {
    const { base } = await setup();
    const out = await imageInfo(await get(`${base}/1200,600,5000,5000/max/0/default.jpg`));
    expect([out.width, out.height]).toEqual([100, 100]);
  });

  it("answers 403 for an unsigned, tampered or expired token and 404 for another user's image with a key", async () => {
    const { img, user, ds, base } = await setup();
    await expectError(get(`/iiif/3/${img.id}/info.json`), 403);
    await expectError(get(`${base.replace(/~[\w-]+$/, "~AAAA")}/info.json`), 403, /not valid/);
    await expectError(get(`/iiif/3/${img.id}~1~x/full/max/0/default.jpg`), 403);
    const past = Math.floor(Date.now() / 1000) - 5;
    await expectError(
      get(`/iiif/3/${img.id}~${past}~${await signScope(env, `iiif:${img.id}`, past)}/info.json`),
      403,
      /expired/,
    );
    // A DZI token is not an IIIF token.
    const exp = Math.floor(Date.now() / 1000) + 600;
    await expectError(get(`/iiif/3/${img.id}~${exp}~${await signScope(env, `dzi:${img.id}`, exp)}/info.json`), 403);
    await expectError(get(`/iiif/3/abc/info.json`), 400);
    const own = await call("GET", `/iiif/3/${img.id}/full/64,/0/default.jpg`, { key: user.key });
    expect(own.status).toBe(200);
    expect(own.headers.get("cache-control")).toBe("private, no-cache");
    await own.arrayBuffer();
    const other = await createUser();
    await expectError(call("GET", `/iiif/3/${img.id}/info.json`, { key: other.key }), 404);
    await expectError(call("GET", `/api/v1/ui/images/${img.id}/deepzoom/`, { key: other.key }), 404);
    await makePublic(user, ds.id);
    await expectStatus(call("GET", `/iiif/3/${img.id}/info.json`, { key: other.key }), 200);
  });

  it("the byte routes are described in the OpenAPI document", async () => {
    const doc = await (await get("/openapi.json")).json<any>();
    for (const path of [
      "/iiif/3/{token}/info.json",
      "/iiif/3/{token}/{region}/{size}/{rotation}/{file}",
      "/dzi/{file}",
      "/dzi/{base}/{level}/{tile}",
      "/files/images/{id}/original/{name}",
      "/files/images/{id}/{size}.jpg",
    ]) {
      expect(doc.paths[path]?.get?.responses?.["200"], path).toBeTruthy();
    }
    expect(doc.paths["/api/v1/ui/images/{id}/downsample"].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["source_x", "source_y", "source_width", "source_height", "downscale", "quality"]),
    );
  });

  it("a repeated tile is a KV hit with the same ETag, and If-None-Match gives 304", async () => {
    // Tests share pixels (and so cache keys): this tile is asked for nowhere else.
    const { base } = await setup();
    const a = await get(`${base}/7,9,200,200/100,100/0/default.jpg`);
    expect(a.headers.get("x-cache")).toBe("miss");
    await a.arrayBuffer();
    const b = await get(`${base}/7,9,200,200/100,100/0/default.jpg`);
    expect(b.headers.get("x-cache")).toBe("hit");
    expect(b.headers.get("etag")).toBe(a.headers.get("etag"));
    await b.arrayBuffer();
    const c = await call("GET", `${base}/7,9,200,200/100,100/0/default.jpg`, {
      headers: { "if-none-match": a.headers.get("etag")! },
    });
    expect(c.status).toBe(304);
  });
});
