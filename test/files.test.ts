import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { derivedPath, imageUrls, originalPath } from "../src/lib/image-urls";
import { signPath } from "../src/lib/signing";
import { probeImage } from "../src/media/probe";
import { call, expectError, get } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";
import { fixturePhoto, imageInfo, makePng } from "./helpers/image-fixtures";

async function setup() {
  const user = await createUser();
  const ds = await createDataset(user);
  const bytes = await fixturePhoto();
  const info = probeImage(bytes)!;
  const img = await insertImage(ds.id, { bytes, width: info.width, height: info.height, name: "photo one.jpg" });
  const urls = await imageUrls(env, { id: img.id, originalName: "photo one.jpg" });
  return { user, ds, bytes, info, img, urls };
}

describe("original bytes", () => {
  it("serves the original through its signed URL with its content type, sha256 ETag and a private max-age", async () => {
    const { bytes, img, urls } = await setup();
    const res = await get(urls.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(res.headers.get("etag")).toBe(`"${img.sha256}"`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    const cc = res.headers.get("cache-control")!;
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(cc)?.[1]);
    expect(maxAge).toBeGreaterThan(3000);
    expect(maxAge).toBeLessThanOrEqual(7200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it("answers 304 to If-None-Match with the sha256", async () => {
    const { img, urls } = await setup();
    const res = await call("GET", urls.url, { headers: { "if-none-match": `"${img.sha256}"` } });
    expect(res.status).toBe(304);
    const other = await call("GET", urls.url, { headers: { "if-none-match": `"abc"` } });
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it("serves byte ranges (a-b, a-, -n) with 206 and Content-Range; 416 past the end; 400 when malformed", async () => {
    const { bytes, urls } = await setup();
    const r1 = await call("GET", urls.url, { headers: { range: "bytes=0-99" } });
    expect(r1.status).toBe(206);
    expect(r1.headers.get("content-range")).toBe(`bytes 0-99/${bytes.length}`);
    expect(new Uint8Array(await r1.arrayBuffer())).toEqual(bytes.slice(0, 100));
    const r2 = await call("GET", urls.url, { headers: { range: `bytes=${bytes.length - 10}-` } });
    expect(r2.status).toBe(206);
    expect(new Uint8Array(await r2.arrayBuffer())).toEqual(bytes.slice(-10));
    const r3 = await call("GET", urls.url, { headers: { range: "bytes=-5" } });
    expect(new Uint8Array(await r3.arrayBuffer())).toEqual(bytes.slice(-5));
    const r4 = await call("GET", urls.url, { headers: { range: `bytes=${bytes.length + 5}-` } });
    expect(r4.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
    await expectError(r4, 416, /not satisfiable/);
    await expectError(call("GET", urls.url, { headers: { range: "bytes=abc" } }), 400, /Range/);
    await expectError(call("GET", urls.url, { headers: { range: "bytes=50-10" } }), 400, /Range/);
  });

  it("answers 403 to an unsigned, a tampered and an expired URL", async () => {
    const { img, urls } = await setup();
    await expectError(get(originalPath(img.id, "photo one.jpg")), 403, /signature/);
    await expectError(get(urls.url.replace(/sig=[^&]+/, "sig=AAAA")), 403, /not valid/);
    await expectError(get(urls.url.replace(`/images/${img.id}/`, `/images/${img.id + 1}/`)), 403);
    const past = Math.floor(Date.now() / 1000) - 10;
    await expectError(get(await signPath(env, originalPath(img.id, "photo one.jpg"), past)), 403, /expired/);
  });

  it("signs once per image: the query of one URL opens the image's other sizes, not another image; path-signed URLs still work", async () => {
    const { ds, img } = await setup();
    // Images of their own (the photo's downscales are cached by content for the tests below).
    const mine = await insertImage(ds.id, { bytes: makePng(10, 7), width: 10, height: 7, name: "mine.png", mime: "image/png" });
    const other = await insertImage(ds.id, { bytes: makePng(8, 6), width: 8, height: 6, name: "other.png", mime: "image/png" });
    const urls = await imageUrls(env, { id: mine.id, originalName: "mine.png" });
    const query = urls.url.slice(urls.url.indexOf("?"));
    for (const u of [urls.view, urls.preview, urls.thumbnail]) expect(u.endsWith(query)).toBe(true);
    const thumb = await get(derivedPath(mine.id, "thumbnail") + query);
    expect(thumb.status).toBe(200);
    await thumb.arrayBuffer();
    await expectError(get(originalPath(other.id, "other.png") + query), 403, /not valid/);
    await expectError(get(derivedPath(other.id, "preview") + query), 403, /not valid/);
    // Issued before the image scope existed (signed over the exact path), and not yet expired.
    const old = await signPath(env, originalPath(img.id, "photo one.jpg"));
    expect((await get(old)).status).toBe(200);
    await expectError(get(old.replace("/original/photo%20one.jpg", "/preview.jpg")), 403, /not valid/);
  });

  it("accepts a key instead of a signature: the owner's, a public dataset's reader; 404 for another user's private image", async () => {
    const { user, ds, img } = await setup();
    const path = originalPath(img.id, "photo one.jpg");
    const own = await call("GET", path, { key: user.key });
    expect(own.status).toBe(200);
    expect(own.headers.get("cache-control")).toBe("private, no-cache");
    await own.arrayBuffer();
    const other = await createUser();
    await expectError(call("GET", path, { key: other.key }), 404);
    await expectError(call("GET", path, { key: "not-a-key" }), 401);
    await makePublic(user, ds.id);
    const pub = await call("GET", path, { key: other.key });
    expect(pub.status).toBe(200);
    await pub.arrayBuffer();
  });

  it("answers 400 for a non-numeric id and 404 for a deleted image", async () => {
    const { user } = await setup();
    await expectError(call("GET", "/files/images/abc/original/x.jpg", { key: user.key }), 400, /image id/);
    await expectError(get(await signPath(env, originalPath(99999999, "x.jpg"))), 404);
  });
});

describe("view, preview and thumbnail", () => {
  it("are JPEG downscales with the longest side 2048 (never enlarged), 512 and 256, cached in KV, immutable when signed", async () => {
    const { info, urls, user, img } = await setup();
    const expected = {
      view: [info.width, info.height],
      preview: [512, Math.round((info.height * 512) / info.width)],
      thumbnail: [256, Math.round((info.height * 256) / info.width)],
    };
    for (const size of ["view", "preview", "thumbnail"] as const) {
      const res = await get(urls[size]);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-cache")).toBe("miss");
      const etag = res.headers.get("etag");
      const out = await imageInfo(res);
      expect([out.mime, out.width, out.height]).toEqual(["image/jpeg", ...expected[size]]);
      const again = await get(urls[size]);
      expect(again.headers.get("x-cache")).toBe("hit");
      expect(again.headers.get("etag")).toBe(etag);
      await again.arrayBuffer();
      const cond = await call("GET", urls[size], { headers: { "if-none-match": etag! } });
      expect(cond.status).toBe(304);
    }
    const keyed = await call("GET", derivedPath(img.id, "thumbnail"), { key: user.key });
    expect(keyed.headers.get("cache-control")).toBe("private, no-cache");
    await keyed.arrayBuffer();
  });

  it("downscales PNGs too, and answers 422 for a corrupt one and 404 for an unknown size name", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makePng(800, 400), width: 800, height: 400, mime: "image/png" });
    const out = await imageInfo(await call("GET", derivedPath(img.id, "preview"), { key: user.key }));
    expect([out.mime, out.width, out.height]).toEqual(["image/jpeg", 512, 256]);
    const bad = await insertImage(ds.id, {
      bytes: makePng(800, 400).slice(0, 200),
      width: 800,
      height: 400,
      mime: "image/png",
    });
    await expectError(call("GET", derivedPath(bad.id, "thumbnail"), { key: user.key }), 422);
    await expectError(call("GET", `/files/images/${img.id}/huge.jpg`, { key: user.key }), 404);
  });

  it("answers 403 for an unsigned derived URL and 404 for another user's image with a key", async () => {
    const { img } = await setup();
    await expectError(get(derivedPath(img.id, "view")), 403);
    const other = await createUser();
    await expectError(call("GET", derivedPath(img.id, "view"), { key: other.key }), 404);
  });
});
