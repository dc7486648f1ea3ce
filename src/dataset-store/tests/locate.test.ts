import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../app";
import { del, expectStatus, post } from "../../../test/helpers/api";
import { createDataset, createUser, insertImage } from "../../../test/helpers/factories";
import {
  IMAGE_BLOCK_BASE,
  IMAGE_BLOCK_SIZE,
  allocateImageBlock,
  legacyImageRanges,
  locateImage,
  locateSet,
  registerLegacyImageRanges,
} from "../locate";
import { ROUTE_DATASETS, datasetOfRoute, imageIdOfParam } from "../route-datasets";

const rangesOf = async (datasetId: number) =>
  (
    await env.DB.prepare("SELECT first_id, last_id, kind FROM image_id_ranges WHERE dataset_id = ? ORDER BY first_id")
      .bind(datasetId)
      .all<{ first_id: number; last_id: number; kind: string }>()
  ).results;

/** Datasets A and B whose images were added interleaved, and a third whose one image was deleted in between. */
async function interleaved() {
  const owner = await createUser();
  const a = await createDataset(owner);
  const b = await createDataset(owner);
  const c = await createDataset(owner);
  const a1 = await insertImage(a.id);
  const a2 = await insertImage(a.id);
  const b1 = await insertImage(b.id);
  const a3 = await insertImage(a.id);
  const c1 = await insertImage(c.id);
  const a4 = await insertImage(a.id);
  await expectStatus(del(`/api/v1/ui/images/${c1.id}/`, owner.key), 204);
  return { owner, a, b, c, a1, a2, b1, a3, c1, a4 };
}

describe("image id ranges", () => {
  it("finds each image's dataset from D1's images while no range is registered, and null for ids nobody has", async () => {
    const s = await interleaved();
    expect(await locateImage(env, s.a3.id)).toBe(s.a.id);
    expect(await locateImage(env, s.b1.id)).toBe(s.b.id);
    expect(await locateImage(env, s.c1.id)).toBeNull();
    for (const bad of [0, -1, 2 ** 53, 1.5, s.a4.id + 1000]) expect(await locateImage(env, bad)).toBeNull();
  });

  it("reads a dataset's ids as the runs no other dataset's id interrupts; a deleted image's id does not split a run", async () => {
    const s = await interleaved();
    expect(await legacyImageRanges(env, s.a.id)).toEqual([
      { first: s.a1.id, last: s.a2.id, datasetId: s.a.id },
      { first: s.a3.id, last: s.a4.id, datasetId: s.a.id },
    ]);
    expect(await legacyImageRanges(env, s.b.id)).toEqual([{ first: s.b1.id, last: s.b1.id, datasetId: s.b.id }]);
    expect(await legacyImageRanges(env, s.c.id)).toEqual([]);
  });

  it("registers the ranges idempotently and locates every image by them, even once its D1 row is gone", async () => {
    const s = await interleaved();
    expect(await registerLegacyImageRanges(env, s.a.id)).toBe(2);
    expect(await registerLegacyImageRanges(env, s.a.id)).toBe(2);
    expect(await registerLegacyImageRanges(env, s.b.id)).toBe(1);
    expect(await rangesOf(s.a.id)).toEqual([
      { first_id: s.a1.id, last_id: s.a2.id, kind: "legacy" },
      { first_id: s.a3.id, last_id: s.a4.id, kind: "legacy" },
    ]);
    // Once a dataset has moved, D1 has no images rows for it: the ranges alone must answer.
    await env.DB.prepare("DELETE FROM images WHERE dataset_id IN (?, ?)").bind(s.a.id, s.b.id).run();
    for (const img of [s.a1, s.a2, s.a3, s.a4]) expect(await locateImage(env, img.id)).toBe(s.a.id);
    expect(await locateImage(env, s.b1.id)).toBe(s.b.id);
    // A deleted image's id inside a run names the run's dataset, whose store then answers 404 for it.
    expect(await locateImage(env, s.c1.id)).toBe(s.a.id);
    expect(await locateImage(env, s.a4.id + 1)).toBeNull();
  });

  it("picks up images added after a registration when registered again (the switch-over does, after freezing writes)", async () => {
    const s = await interleaved();
    await registerLegacyImageRanges(env, s.a.id);
    const b2 = await insertImage(s.b.id);
    const a5 = await insertImage(s.a.id);
    expect(await registerLegacyImageRanges(env, s.a.id)).toBe(3);
    expect((await rangesOf(s.a.id)).at(-1)).toEqual({ first_id: a5.id, last_id: a5.id, kind: "legacy" });
    expect(await locateImage(env, b2.id)).toBe(s.b.id);
  });

  it("allocates disjoint blocks from 2^32 up, even when asked at once, and locates ids inside them", async () => {
    const owner = await createUser();
    const a = await createDataset(owner);
    const b = await createDataset(owner);
    const blocks = await Promise.all([a.id, b.id, a.id, b.id].map((id) => allocateImageBlock(env, id)));
    const sorted = [...blocks].sort((x, y) => x.first - y.first);
    expect(sorted[0].first).toBe(IMAGE_BLOCK_BASE);
    sorted.forEach((blk, i) => {
      expect(blk.last - blk.first + 1).toBe(IMAGE_BLOCK_SIZE);
      if (i > 0) expect(blk.first).toBe(sorted[i - 1].last + 1);
    });
    for (const blk of blocks) {
      expect(await locateImage(env, blk.first)).toBe(blk.datasetId);
      expect(await locateImage(env, blk.first + 12_345)).toBe(blk.datasetId);
      expect(await locateImage(env, blk.last)).toBe(blk.datasetId);
    }
    expect(await locateImage(env, sorted.at(-1)!.last + 1)).toBeNull();
  });

  it("refuses a block for a dataset that does not exist, writing nothing", async () => {
    const err = await allocateImageBlock(env, 987_654_321).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/FOREIGN KEY/i);
    expect(await rangesOf(987_654_321)).toEqual([]);
  });

  it("forgets a dataset's ranges when the dataset is deleted", async () => {
    const s = await interleaved();
    await registerLegacyImageRanges(env, s.a.id);
    const blk = await allocateImageBlock(env, s.a.id);
    await expectStatus(del(`/api/v1/ui/datasets/${s.a.id}/`, s.owner.key), 204);
    expect(await rangesOf(s.a.id)).toEqual([]);
    expect(await locateImage(env, s.a1.id)).toBeNull();
    expect(await locateImage(env, blk.first)).toBeNull();
  });
});

describe("the dataset of a route", () => {
  it("names every route the app serves, and nothing else", () => {
    const served = new Set(buildApp().routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
    expect([...served].filter((k) => !(k in ROUTE_DATASETS))).toEqual([]);
    expect(Object.keys(ROUTE_DATASETS).filter((k) => !served.has(k))).toEqual([]);
  });

  it("reads image ids out of ids, tokens, DZI files and tile bases", () => {
    expect(imageIdOfParam("42")).toBe(42);
    expect(imageIdOfParam("42~1767225600~c2ln")).toBe(42);
    expect(imageIdOfParam("42.dzi")).toBe(42);
    expect(imageIdOfParam("42~1767225600~c2ln.dzi")).toBe(42);
    expect(imageIdOfParam("42_files")).toBe(42);
    for (const bad of ["", "x42", "42x", "-1", "1234567890123456", "42.jpg"]) expect(imageIdOfParam(bad)).toBeNull();
  });

  it("finds the dataset from a dataset, set, image, upload session, job or body, and null for ids that name nothing", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    const img = await insertImage(ds.id);
    const set = await expectStatus(
      post("/api/v1/ui/annotation-sets/", { dataset_id: ds.id, name: "s", annotation_task: "Object detection", classes: [] }, owner.key),
      201,
    );
    const session = await expectStatus(post("/api/v1/ui/uploads/", { dataset_id: ds.id }, owner.key), 201);
    const job = await env.DB.prepare("INSERT INTO jobs (user_id, dataset_id, kind) VALUES (?, ?, 'export') RETURNING id")
      .bind(owner.id, ds.id)
      .first<{ id: number }>();
    const of = async (key: string, params: Record<string, string>, json?: unknown) => {
      const target = await datasetOfRoute(env, ROUTE_DATASETS[key], params, json);
      if (target) expect(target.store).toBe("d1");
      return target?.datasetId ?? null;
    };

    expect(await of("GET /api/v1/ui/datasets/:id", { id: String(ds.id) })).toBe(ds.id);
    expect(await of("PUT /api/v1/ui/annotation-sets/:set/images/:img/annotations", { set: String(set.id), img: "1" })).toBe(ds.id);
    expect(await of("GET /dzi/:file", { file: `${img.id}~1767225600~c2ln.dzi` })).toBe(ds.id);
    expect(await of("GET /iiif/3/:token/info.json", { token: `${img.id}` })).toBe(ds.id);
    expect(await of("POST /api/v1/uploads/:sid/direct", { sid: session.session_id })).toBe(ds.id);
    expect(await of("GET /files/exports/:jobId/:name", { jobId: String(job!.id), name: "x.json" })).toBe(ds.id);
    expect(await of("POST /api/v1/ui/annotation-sets", {}, { dataset_id: ds.id })).toBe(ds.id);
    expect(await of("POST /api/annotation-set", {}, { dataset: ds.id })).toBe(ds.id);
    expect(await locateSet(env, set.id)).toBe(ds.id);

    expect(await of("GET /api/v1/ui/datasets/:id", { id: "abc" })).toBeNull();
    expect(await of("GET /api/v1/ui/annotation-sets/:id", { id: "987654321" })).toBeNull();
    expect(await of("GET /dzi/:file", { file: "nope.dzi" })).toBeNull();
    expect(await of("POST /api/v1/uploads/:sid/direct", { sid: "no-such-session" })).toBeNull();
    expect(await of("GET /files/exports/:jobId/:name", { jobId: "0", name: "x" })).toBeNull();
    expect(await of("POST /api/v1/ui/annotation-sets", {}, { dataset_id: "1; DROP TABLE" })).toBeNull();
    expect(await of("POST /api/v1/ui/annotation-sets", {}, null)).toBeNull();
    expect(await of("GET /api/v1/ui/search", {})).toBeNull();
    expect(await of("GET /api/user-info", {})).toBeNull();
  });
});
