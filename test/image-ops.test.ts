import { describe, expect, it } from "vitest";
import { createExecutionContext, env } from "cloudflare:test";
import worker from "../src/index";
import { BASE, call, expectError, get } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";
import { fixturePhoto, imageInfo, makeJpeg, makePng } from "./helpers/image-fixtures";

async function photoImage() {
  const user = await createUser();
  const ds = await createDataset(user);
  const bytes = await fixturePhoto();
  const info = (await import("../src/media/probe")).probeImage(bytes)!;
  const img = await insertImage(ds.id, { bytes, width: info.width, height: info.height, mime: "image/jpeg" });
  return { user, ds, img, width: info.width, height: info.height };
}

const ds = (id: number, q: string) => `/api/v1/ui/images/${id}/downsample/?${q}`;

describe("downsample", () => {
  it("returns a JPEG of exactly the clamped, scaled size, then a KV hit with the same ETag, then 304", async () => {
    const { user, img, width, height } = await photoImage();
    // Clamped: the requested width runs past the right edge.
    const q = `source_x=100&source_y=50&source_width=5000&source_height=300&downscale=0.5&quality=80`;
    const first = await call("GET", ds(img.id, q), { key: user.key });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("image/jpeg");
    expect(first.headers.get("x-cache")).toBe("miss");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    const out = await imageInfo(first);
    expect(out).toMatchObject({ mime: "image/jpeg", width: Math.round((width - 100) * 0.5), height: 150 });
    expect(height).toBeGreaterThan(350);

    const second = await call("GET", ds(img.id, q), { key: user.key });
    expect(second.status).toBe(200);
    expect(second.headers.get("x-cache")).toBe("hit");
    expect(second.headers.get("x-cache-tier")).toBe("kv");
    expect(second.headers.get("etag")).toBe(etag);
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(out.bytes);
    // Read from KV twice, it is kept in the isolate: the same bytes again (and again: nothing is consumed).
    for (let i = 0; i < 2; i++) {
      const again = await call("GET", ds(img.id, q), { key: user.key });
      expect([again.status, again.headers.get("x-cache"), again.headers.get("x-cache-tier")]).toEqual([
        200,
        "hit",
        "isolate",
      ]);
      expect(again.headers.get("etag")).toBe(etag);
      expect(new Uint8Array(await again.arrayBuffer())).toEqual(out.bytes);
    }

    const cond = await call("GET", ds(img.id, q), { key: user.key, headers: { "if-none-match": etag } });
    expect(cond.status).toBe(304);
    expect(await cond.text()).toBe("");
  });

  it("crops before it resizes: the crop's pixels, not the whole image's", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const img = await insertImage(d.id, { bytes: makeJpeg(640, 480), width: 640, height: 480 });
    const a = await imageInfo(
      await call("GET", ds(img.id, "source_x=0&source_y=0&source_width=64&source_height=64"), { key: user.key }),
    );
    const b = await imageInfo(
      await call("GET", ds(img.id, "source_x=576&source_y=416&source_width=64&source_height=64"), { key: user.key }),
    );
    expect([a.width, a.height, b.width, b.height]).toEqual([64, 64, 64, 64]);
    expect(a.bytes).not.toEqual(b.bytes);
  });

  it("answers 400 naming the field for bad downscale and quality values", async () => {
    const { user, img } = await photoImage();
    const base = "source_width=100&source_height=100";
    for (const [q, field] of [
      ["downscale=0", "downscale"],
      ["downscale=-1", "downscale"],
      ["downscale=50", "downscale"],
      ["downscale=NaN", "downscale"],
      ["downscale=abc", "downscale"],
      ["quality=0", "quality"],
      ["quality=101", "quality"],
      ["quality=9.5", "quality"],
      ["source_x=-1", "source_x"],
      ["source_width=abc", "source_width"],
    ]) {
      const body = await expectError(call("GET", ds(img.id, `${base}&${q}`), { key: user.key }), 400);
      expect(
        body.issues.map((i: { path: string }) => i.path),
        q,
      ).toContain(field);
    }
  });

  it("answers 400 for an empty crop: zero size, or starting at or past the edge", async () => {
    const { user, img, width, height } = await photoImage();
    await expectError(call("GET", ds(img.id, "source_width=0&source_height=0"), { key: user.key }), 400, /empty/);
    await expectError(call("GET", ds(img.id, ""), { key: user.key }), 400, /empty/);
    await expectError(
      call("GET", ds(img.id, `source_x=${width}&source_width=10&source_height=10`), { key: user.key }),
      400,
      /empty/,
    );
    await expectError(
      call("GET", ds(img.id, `source_x=${width + 500}&source_width=10&source_height=10`), { key: user.key }),
      400,
      /empty/,
    );
    await expectError(
      call("GET", ds(img.id, `source_y=${height}&source_width=10&source_height=10`), { key: user.key }),
      400,
      /empty/,
    );
  });

  it("clamps a crop that is partly outside the image", async () => {
    const { user, img, width, height } = await photoImage();
    const res = await call(
      "GET",
      ds(img.id, `source_x=${width - 10}&source_y=${height - 20}&source_width=500&source_height=500`),
      { key: user.key },
    );
    expect(await imageInfo(res)).toMatchObject({ width: 10, height: 20 });
  });

  it("answers 422 for corrupt and truncated JPEG bytes", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const good = await fixturePhoto();
    const truncated = await insertImage(d.id, {
      bytes: good.slice(0, Math.floor(good.length / 2)),
      width: 1024,
      height: 768,
    });
    const garbage = good.slice();
    for (let i = 2000; i < garbage.length; i += 7) garbage[i] = (garbage[i] * 31 + 7) & 255;
    const corrupt = await insertImage(d.id, { bytes: garbage, width: 1024, height: 768 });
    const notImage = await insertImage(d.id, {
      bytes: new TextEncoder().encode("hello, not an image"),
      width: 10,
      height: 10,
    });
    for (const id of [truncated.id, corrupt.id, notImage.id]) {
      await expectError(
        call("GET", ds(id, "source_width=800&source_height=600&downscale=0.5"), { key: user.key }),
        422,
      );
    }
  });

  it("answers 422 for corrupt and truncated PNG bytes (a region the damage does not reach still decodes)", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const png = makePng(300, 200);
    const truncated = await insertImage(d.id, {
      bytes: png.slice(0, Math.floor(png.length * 0.6)),
      width: 300,
      height: 200,
      mime: "image/png",
    });
    const rotten = png.slice();
    for (let i = 60; i < rotten.length; i += 13) rotten[i] ^= 0xa5;
    const corrupt = await insertImage(d.id, { bytes: rotten, width: 300, height: 200, mime: "image/png" });
    const header = await insertImage(d.id, { bytes: png.slice(0, 30), width: 300, height: 200, mime: "image/png" });
    for (const id of [truncated.id, corrupt.id, header.id]) {
      await expectError(call("GET", ds(id, "source_width=300&source_height=200"), { key: user.key }), 422, /PNG/);
    }
    const top = await call("GET", ds(truncated.id, "source_width=300&source_height=10"), { key: user.key });
    expect(await imageInfo(top)).toMatchObject({ width: 300, height: 10 });
  });

  it("serves progressive JPEGs and PNGs through the same streaming path (photon never decodes them)", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const { env } = await import("cloudflare:test");
    const { photonDecodeCount } = await import("../src/media/encode");
    const before = photonDecodeCount();
    for (const [name, mime] of [
      ["media-progressive.jpg", "image/jpeg"],
      ["media-palette.png", "image/png"],
    ]) {
      const bytes = new Uint8Array(await (await env.FIXTURES.fetch(`http://fixtures/local/${name}`)).arrayBuffer());
      const img = await insertImage(d.id, { bytes, width: 203, height: 147, mime });
      const res = await call(
        "GET",
        ds(img.id, "source_x=3&source_y=4&source_width=200&source_height=140&downscale=0.25"),
        { key: user.key },
      );
      expect(await imageInfo(res)).toMatchObject({ mime: "image/jpeg", width: 50, height: 35 });
    }
    expect(photonDecodeCount()).toBe(before);
  });

  it("answers 413 with the limit for a PNG claiming 100,000 × 100,000", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const header = new Uint8Array(33);
    header.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(header.buffer).setUint32(16, 100_000);
    new DataView(header.buffer).setUint32(20, 100_000);
    header.set([8, 2, 0, 0, 0], 24);
    // The row says small (as a lying upload could), the header says huge: the header wins.
    const small = await insertImage(d.id, { bytes: header, width: 100, height: 100, mime: "image/png" });
    await expectError(
      call("GET", ds(small.id, "source_width=100&source_height=100"), { key: user.key }),
      413,
      /limit is 65,535 pixels a side/,
    );
    const big = await insertImage(d.id, { bytes: header.slice(), width: 100_000, height: 100_000, mime: "image/png" });
    await expectError(
      call("GET", ds(big.id, "source_width=1000&source_height=1000&downscale=0.1"), { key: user.key }),
      413,
      /limit/,
    );
  });

  it("answers 413 when the result would be larger than the output limit", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const img = await insertImage(d.id, { bytes: makeJpeg(2400, 2000), width: 2400, height: 2000 });
    await expectError(
      call("GET", ds(img.id, "source_width=2400&source_height=2000"), { key: user.key }),
      413,
      /limit is 4,194,304 pixels/,
    );
  });

  it("is 404 for another user's private image and for a missing one, 401 without a key; public images are readable", async () => {
    const { user, img, ds: d } = await photoImage();
    const other = await createUser();
    await expectError(
      call("GET", ds(img.id, "source_width=10&source_height=10"), { key: other.key }),
      404,
      /Image #\d+ - not found/,
    );
    await expectError(call("GET", ds(99999999, "source_width=10&source_height=10"), { key: user.key }), 404);
    await expectError(get(`/api/v1/ui/images/${img.id}/downsample/?source_width=10&source_height=10`), 401);
    await expectError(call("GET", `/api/v1/ui/images/abc/downsample/`, { key: user.key }), 400);
    await makePublic(user, d.id);
    const res = await call("GET", ds(img.id, "source_width=10&source_height=10"), { key: other.key });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });
});

describe("the isolate tier of derived images", () => {
  it("keeps at most 8 MiB, least recently used out first, and nothing over 1 MiB", async () => {
    const m = await import("../src/storage/derived-cache");
    const img = (n: number, fill: number) => ({ bytes: new Uint8Array(n).fill(fill), contentType: "image/jpeg" });
    const tag = `t${Math.random()}:`;
    m.isolatePut(`${tag}huge`, img(m.ISOLATE_TIER_ENTRY_MAX + 1, 1));
    expect(m.isolateGet(`${tag}huge`)).toBeNull();
    const mib = 1024 * 1024;
    for (let i = 0; i < 8; i++) m.isolatePut(`${tag}${i}`, img(mib, i));
    expect(m.isolateGet(`${tag}0`)?.bytes[0]).toBe(0); // now the most recently used
    m.isolatePut(`${tag}8`, img(mib, 8)); // over 8 MiB: the least recently used (1) goes
    expect(m.isolateGet(`${tag}1`)).toBeNull();
    for (const i of [0, 2, 3, 4, 5, 6, 7, 8]) expect(m.isolateGet(`${tag}${i}`)?.bytes[0], `entry ${i}`).toBe(i);
    expect(m.isolateTierSize().bytes).toBeLessThanOrEqual(m.ISOLATE_TIER_BYTES);
  });
});

describe("the isolate's image access cache", () => {
  it("never outlives a change made here: privacy, image and dataset deletes take effect on the next request", async () => {
    const { user, img, ds: d } = await photoImage();
    const other = await createUser();
    const q = "source_width=10&source_height=10";
    await makePublic(user, d.id);
    const seen = await call("GET", ds(img.id, q), { key: other.key }); // cached as public
    expect(seen.status).toBe(200);
    await seen.arrayBuffer();
    const priv = await call("PATCH", `/api/v1/ui/datasets/${d.id}/`, { key: user.key, json: { is_public: false } });
    expect(priv.status).toBe(200);
    await expectError(call("GET", ds(img.id, q), { key: other.key }), 404, /Image #\d+ - not found/);

    const mine = await call("GET", ds(img.id, q), { key: user.key }); // KV hit next time: still checked
    expect(mine.status).toBe(200);
    await mine.arrayBuffer();
    const del = await call("DELETE", `/api/v1/ui/images/${img.id}/`, { key: user.key });
    expect(del.status).toBeLessThan(300);
    await del.arrayBuffer();
    await expectError(call("GET", ds(img.id, q), { key: user.key }), 404, /Image #\d+ - not found/);

    const again = await photoImage();
    const ok = await call("GET", ds(again.img.id, q), { key: again.user.key });
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const gone = await call("DELETE", `/api/user-dataset/${again.ds.id}/`, { key: again.user.key });
    expect(gone.status).toBeLessThan(300);
    await gone.arrayBuffer();
    await expectError(call("GET", ds(again.img.id, q), { key: again.user.key }), 404, /Image #\d+ - not found/);
  });
});

describe("a thousand corrupt requests in a row", () => {
  it("leave the next valid request working", async () => {
    const user = await createUser();
    const d = await createDataset(user);
    const jpeg = makeJpeg(160, 120);
    const png = makePng(160, 120);
    const bad: number[] = [];
    // Twenty distinct corrupt images (truncations and bit rot at different places, JPEG and PNG), each asked 50 ways.
    for (let k = 0; k < 20; k++) {
      const src = k < 10 ? jpeg : png;
      const b = k % 2 ? src.slice(0, 40 + k * 97) : src.slice();
      if (k % 2 === 0) for (let i = 30 + k * 13; i < b.length; i += 11 + k) b[i] ^= 0x5a;
      bad.push(
        (await insertImage(d.id, { bytes: b, width: 160, height: 120, mime: k < 10 ? "image/jpeg" : "image/png" })).id,
      );
    }
    const statuses = new Map<number, number>();
    for (let n = 0; n < 1000; n++) {
      const id = bad[n % 20];
      // The Worker's fetch handler called directly: the test harness's own fetch slows down with every request
      // made inside one test (measured: /api/user-info/ alike), which would time this loop out.
      const req = new Request(
        BASE + ds(id, `source_x=${n % 37}&source_width=${50 + (n % 100)}&source_height=80&downscale=0.${1 + (n % 8)}`),
        {
          headers: { authorization: `Token ${user.key}` },
        },
      );
      const res = await worker.fetch(req, env, createExecutionContext());
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      await res.arrayBuffer();
    }
    // Never a 500; bit rot that still decodes is a (garbled) 200, everything else 422.
    expect(
      [...statuses.keys()].every((s) => s === 422 || s === 200),
      JSON.stringify([...statuses]),
    ).toBe(true);
    expect(statuses.get(422) ?? 0).toBeGreaterThan(500);
    const ok = await photoImage();
    const res = await call("GET", ds(ok.img.id, "source_width=300&source_height=200&downscale=0.5"), {
      key: ok.user.key,
    });
    expect(await imageInfo(res)).toMatchObject({ width: 150, height: 100 });
  }, 120_000);
});
