import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CHUNK, pyramidLevels, pyramidPrefix } from "../src/services/images/pyramid";
import { call, expectError, expectStatus } from "./helpers/api";
import { locateImage } from "../src/dataset-store/locate";
import { datasetRows, inDataset } from "./helpers/dataset-rows";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";
import { imageInfo, makeJpeg, makePng, runJob } from "./helpers/image-fixtures";

/** The image's row, where its dataset lives (D1 or its DatasetStore); null when no dataset holds the id. */
async function imageRow(id: number) {
  const datasetId = await locateImage(env as never, id);
  if (datasetId === null) return null;
  const [row] = await datasetRows<{ pyramid_status: string | null; pyramid_levels: number | null; r2_key: string }>(
    { datasetId },
    "SELECT pyramid_status, pyramid_levels, r2_key FROM images WHERE id = ?",
    id,
  );
  return row ?? null;
}

describe("pyramid", () => {
  it("cache queues the build, the job stores successive halvings in chunks, then cache says cached", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makeJpeg(1300, 700), width: 1300, height: 700 });
    const first = await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/cache/`, { key: user.key }), 200);
    expect(first).toEqual({ status: `Image #${img.id} - caching` });
    expect((await imageRow(img.id))!.pyramid_status).toMatch(/queued|building|ready/);

    const result = await runJob({ type: "build-pyramid", imageId: img.id });
    expect(result.explicitAcks).toHaveLength(1);
    const row = await imageRow(img.id);
    expect(row).toMatchObject({ pyramid_status: "ready", pyramid_levels: pyramidLevels(1300, 700) });
    expect(pyramidLevels(1300, 700)).toBe(3); // 1300, 650, 325

    const listed = await env.BUCKET.list({ prefix: `${pyramidPrefix(img)}/` });
    const keys = listed.objects.map((o) => o.key.slice(pyramidPrefix(img).length + 1)).sort();
    // Level 0: 3 × 2 chunks of 512; level 1 (650 × 350): 2 × 1; level 2 (325 × 175): 1.
    expect(keys).toEqual([
      "0/0_0.jpg",
      "0/0_1.jpg",
      "0/1_0.jpg",
      "0/1_1.jpg",
      "0/2_0.jpg",
      "0/2_1.jpg",
      "1/0_0.jpg",
      "1/1_0.jpg",
      "2/0_0.jpg",
      "manifest.json",
    ]);
    const edge = await env.BUCKET.get(`${pyramidPrefix(img)}/0/2_1.jpg`);
    const info = await imageInfo(new Response(await edge!.arrayBuffer()));
    expect([info.width, info.height]).toEqual([1300 - 2 * CHUNK, 700 - CHUNK]);

    const again = await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/cache/`, { key: user.key }), 200);
    expect(again).toEqual({ status: `Image #${img.id} - cached` });
  });

  it("downsample and tiles read the pyramid once it is built (the original is no longer needed)", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makeJpeg(1500, 1100), width: 1500, height: 1100 });
    await runJob({ type: "build-pyramid", imageId: img.id });
    await env.BUCKET.delete(img.r2Key);
    const res = await call(
      "GET",
      `/api/v1/ui/images/${img.id}/downsample/?source_x=400&source_y=300&source_width=900&source_height=700&downscale=0.3`,
      { key: user.key },
    );
    expect(await imageInfo(res)).toMatchObject({ width: 270, height: 210 });
    const full = await call(
      "GET",
      `/api/v1/ui/images/${img.id}/downsample/?source_x=511&source_y=500&source_width=30&source_height=30`,
      { key: user.key },
    );
    expect(await imageInfo(full)).toMatchObject({ width: 30, height: 30 });
  });

  it("the pyramid's pixels match the original's", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makePng(1200, 900), width: 1200, height: 900, mime: "image/png" });
    const q = "source_x=300&source_y=200&source_width=600&source_height=400&downscale=0.25&quality=100";
    const before = await call("GET", `/api/v1/ui/images/${img.id}/downsample/?${q}`, { key: user.key });
    const a = await decode(new Uint8Array(await before.arrayBuffer()));
    await runJob({ type: "build-pyramid", imageId: img.id });
    // Same parameters, another cache key: a different quality.
    const after = await call(
      "GET",
      `/api/v1/ui/images/${img.id}/downsample/?${q.replace("quality=100", "quality=99")}`,
      { key: user.key },
    );
    const b = await decode(new Uint8Array(await after.arrayBuffer()));
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i] - b.data[i]);
    expect(diff / a.data.length).toBeLessThan(6);
  });

  it("a corrupt or oversized original ends failed at once (no retries); the dead-letter queue marks failures too", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const bad = await insertImage(ds.id, { bytes: makeJpeg(600, 600).slice(0, 900), width: 600, height: 600 });
    const result = await runJob({ type: "build-pyramid", imageId: bad.id });
    expect(result.explicitAcks).toHaveLength(1);
    expect((await imageRow(bad.id))!.pyramid_status).toBe("failed");

    const header = new Uint8Array(33);
    header.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(header.buffer).setUint32(16, 100_000);
    new DataView(header.buffer).setUint32(20, 100_000);
    const huge = await insertImage(ds.id, { bytes: header, width: 100_000, height: 100_000, mime: "image/png" });
    await runJob({ type: "build-pyramid", imageId: huge.id });
    expect((await imageRow(huge.id))!.pyramid_status).toBe("failed");

    const other = await insertImage(ds.id, { bytes: makeJpeg(64, 64), width: 64, height: 64 });
    await runJob({ type: "build-pyramid", imageId: other.id }, "remo-ingest-dlq");
    expect((await imageRow(other.id))!.pyramid_status).toBe("failed");
    // Asking again re-queues a failed build.
    const again = await expectStatus(call("GET", `/api/v1/ui/images/${other.id}/cache/`, { key: user.key }), 200);
    expect(again.status).toBe(`Image #${other.id} - caching`);
  });

  it("cache is 404 for another user's private image and a missing one; a public image can be cached by any reader", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makeJpeg(64, 64), width: 64, height: 64 });
    const other = await createUser();
    const body = await expectError(call("GET", `/api/v1/ui/images/${img.id}/cache/`, { key: other.key }), 404);
    expect(body.error).toBe(`Image #${img.id} - not found`);
    await expectError(call("GET", `/api/v1/ui/images/99999999/cache/`, { key: user.key }), 404);
    await expectError(call("GET", `/api/v1/ui/images/${img.id}/cache/`), 401);
    await makePublic(user, ds.id);
    await expectStatus(call("GET", `/api/v1/ui/images/${img.id}/cache/`, { key: other.key }), 200);
  });

  it("blob sweep deletes the pyramid with the original", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    const img = await insertImage(ds.id, { bytes: makeJpeg(700, 300), width: 700, height: 300 });
    await runJob({ type: "build-pyramid", imageId: img.id });
    expect((await env.BUCKET.list({ prefix: `${pyramidPrefix(img)}/` })).objects.length).toBeGreaterThan(1);
    await inDataset(ds.id, (db) =>
      db.batch([
        db.prepare("INSERT OR IGNORE INTO blob_gc (r2_key) VALUES (?)").bind(img.r2Key),
        db.prepare("DELETE FROM images WHERE id = ?").bind(img.id),
      ]),
    );
    await runJob({ type: "gc-blobs" });
    expect((await env.BUCKET.list({ prefix: `${pyramidPrefix(img)}/` })).objects).toHaveLength(0);
  });
});

async function decode(bytes: Uint8Array) {
  const { decodeJpeg } = await import("../src/media/jpeg-decode");
  return decodeJpeg(bytes);
}
