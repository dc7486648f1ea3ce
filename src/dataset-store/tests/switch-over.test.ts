import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { forgetMovedRoutes } from "../forward";
import { call, del, expectError, expectStatus, get, patch, post } from "../../../test/helpers/api";
import { createUser, type TestUser } from "../../../test/helpers/factories";
import { seedFixtureSet, type SeededSet } from "../../../test/helpers/seed-annotations";
import { IMAGE_BLOCK_BASE } from "../locate";
import { runD1Prune } from "../prune-d1";
import { datasetStore } from "../store";
import { makeJpeg } from "../../../test/helpers/image-fixtures";
import { completeAndWait, newSession, uploadMultipart } from "../../../test/helpers/upload-helpers";
import { deliver, superuser } from "./helpers";

const switchOver = (key: string, id: number) => call("POST", `/api/v1/admin/dataset-stores/${id}/switch`, { key });
const status = (key: string, id: number) => expectStatus<any>(get(`/api/v1/admin/dataset-stores/${id}`, key), 200);
/** One box with one class, in the SDK's save-annotation shape. */
const boxOfClass = (name: string) => ({
  name: "OBJ 1",
  coordinates: [{ x: 1, y: 2 }, { x: 30, y: 40 }],
  auto_created: false,
  position_number: 1,
  classes: [{ name, lower: name.toLowerCase(), questionable: false }],
  objectId: 1,
  isHidden: false,
});
/** Signed URLs carry an expiry; the rest of an answer must be equal byte for byte. */
const unsigned = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/\?[^"]*"/g, '"'));

/** The reads a user of a dataset makes, by dataset, set and image id. */
async function reads(u: TestUser, s: SeededSet) {
  const [imageId] = s.imageIds.values();
  const paths = [
    `/api/v1/ui/datasets/${s.datasetId}/`,
    `/api/v1/ui/datasets/${s.datasetId}/contents/`,
    `/api/v1/ui/datasets/${s.datasetId}/annotation-sets/`,
    `/api/v1/ui/datasets/${s.datasetId}/images/${imageId}/annotations/`,
    `/api/v1/ui/annotation-sets/${s.setId}/`,
    `/api/v1/ui/annotation-sets/${s.setId}/images/`,
    `/api/v1/ui/annotation-sets/${s.setId}/insights/`,
    `/api/v1/ui/annotation-sets/${s.setId}/export-count/`,
    `/api/dataset/${s.datasetId}/annotation-set/${s.setId}/image/${imageId}/annotation/`,
    `/api/v1/sdk/images/${imageId}`,
  ];
  const out: Record<string, unknown> = {};
  for (const p of paths) out[p] = unsigned(await expectStatus(get(p, u.key), 200));
  return out;
}

async function moved(): Promise<{ op: TestUser; owner: TestUser; seeded: SeededSet }> {
  const op = await superuser();
  const owner = await createUser();
  const seeded = await seedFixtureSet(owner);
  expect(await expectStatus(switchOver(op.key, seeded.datasetId), 202)).toEqual({ dataset_id: seeded.datasetId, store: "frozen" });
  await deliver({ type: "switch-dataset-store", datasetId: seeded.datasetId, fresh: true });
  return { op, owner, seeded };
}

/** D1 rows of dataset `id` in each of its tables (the per-set ones through D1's set registry). */
async function d1Rows(id: number): Promise<Record<string, number>> {
  const sets = "(SELECT id FROM annotation_sets WHERE dataset_id = ?1)";
  const where: Record<string, string> = {
    datasets: "id = ?1",
    annotation_sets: "dataset_id = ?1",
    folders: "dataset_id = ?1",
    images: "dataset_id = ?1",
    annotations: `set_id IN ${sets}`,
    annotation_objects: `set_id IN ${sets}`,
    annotation_classes: `set_id IN ${sets}`,
    annotation_set_classes: `set_id IN ${sets}`,
    image_tags: `set_id IN ${sets}`,
  };
  const out: Record<string, number> = {};
  for (const [t, w] of Object.entries(where))
    out[t] = (await env.DB.prepare(`SELECT count(*) AS n FROM ${t} WHERE ${w}`).bind(id).first<number>("n")) ?? -1;
  return out;
}

// Each test file starts from empty storage, so dataset, set and image ids come round again.
afterEach(forgetMovedRoutes);

describe("switching a dataset over to its DatasetStore", () => {
  it("freezes writes with 503 and Retry-After while reads go on, then serves every read from the object", async () => {
    const op = await superuser();
    const owner = await createUser();
    const seeded = await seedFixtureSet(owner);
    const before = await reads(owner, seeded);

    await expectStatus(switchOver(op.key, seeded.datasetId), 202);
    expect((await status(op.key, seeded.datasetId)).store).toBe("frozen");
    const frozen = await patch(`/api/v1/ui/datasets/${seeded.datasetId}/`, { name: "renamed" }, owner.key);
    expect(frozen.status).toBe(503);
    expect(frozen.headers.get("retry-after")).toBe("30");
    expect((await frozen.json()) as object).toHaveProperty("error");
    expect(await reads(owner, seeded)).toEqual(before);

    await deliver({ type: "switch-dataset-store", datasetId: seeded.datasetId, fresh: true });
    const s = await status(op.key, seeded.datasetId);
    expect(s.store).toBe("object");
    expect(s.state).toBe("switched");
    expect(s.counts.equal).toBe(true);

    // D1's copies of the rows no longer matter: every answer comes from the object.
    await deliver({ type: "prune-dataset-d1", datasetId: seeded.datasetId });
    expect((await d1Rows(seeded.datasetId)).images).toBe(0);
    expect(await reads(owner, seeded)).toEqual(before);
  });

  it("writes land in the object: annotations saved after the switch read back, and D1 never sees them", async () => {
    const { owner, seeded } = await moved();
    const [imageId] = seeded.imageIds.values();
    const base = `/api/v1/ui/annotation-sets/${seeded.setId}/images/${imageId}`;
    const objects = [boxOfClass("brand-new-class")];
    await expectStatus(call("PUT", `${base}/annotations/`, { key: owner.key, json: { objects } }), 200);
    const legacy = `/api/dataset/${seeded.datasetId}/annotation-set/${seeded.setId}/image/${imageId}/annotation/`;
    const read = await expectStatus<any>(get(legacy, owner.key), 200);
    expect(JSON.stringify(read)).toContain("Brand-new-class");
    const inD1 = await env.DB.prepare(
      "SELECT count(*) AS n FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ? AND c.name = 'Brand-new-class'",
    )
      .bind(seeded.setId)
      .first<{ n: number }>("n");
    expect(inD1).toBe(0);
    // The global class list (D1) got the new class, with the id the object uses.
    const d1Class = await env.DB.prepare("SELECT id FROM classes WHERE name = 'Brand-new-class'").first<number>("id");
    expect(d1Class).toBeGreaterThan(0);
    const inObject = await runInDurableObject(datasetStore(env, seeded.datasetId), (_o, state) =>
      state.storage.sql.exec<{ id: number }>("SELECT id FROM classes WHERE name = 'Brand-new-class'").one().id,
    );
    expect(inObject).toBe(d1Class);

    // A rename goes to D1's registry first (its unique index) and to the object's copy of the row.
    await expectStatus(patch(`/api/v1/ui/datasets/${seeded.datasetId}/`, { name: "moved-and-renamed" }, owner.key), 200);
    expect(await env.DB.prepare("SELECT name FROM datasets WHERE id = ?").bind(seeded.datasetId).first<string>("name")).toBe("moved-and-renamed");
    expect((await expectStatus<any>(get(`/api/v1/ui/datasets/${seeded.datasetId}/`, owner.key), 200)).name).toBe("moved-and-renamed");
  });

  it("runs an export of a moved dataset in its object, through the queue, to the file it gave before the switch", async () => {
    const op = await superuser();
    const owner = await createUser();
    const seeded = await seedFixtureSet(owner);
    const coco = `/api/v1/ui/annotation-sets/${seeded.setId}/export/?annotation_format=coco`;
    const before = JSON.parse(await (await get(coco, owner.key)).text());
    await expectStatus(switchOver(op.key, seeded.datasetId), 202);
    await deliver({ type: "switch-dataset-store", datasetId: seeded.datasetId, fresh: true });
    await deliver({ type: "prune-dataset-d1", datasetId: seeded.datasetId });

    const { job } = await expectStatus(post(`/api/v1/ui/annotation-sets/${seeded.setId}/exports/?annotation_format=coco`, {}, owner.key), 202);
    let done: any;
    for (let i = 0; i < 200; i++) {
      done = await expectStatus(get(`/api/v1/jobs/${job.id}`, owner.key), 200);
      if (done.status === "done" || done.status === "failed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(done.status, JSON.stringify(done)).toBe("done");
    const file = JSON.parse(await (await call("GET", done.download_url)).text());
    expect(file.images).toEqual(before.images);
    expect(file.annotations).toEqual(before.annotations);
    expect(file.annotations.length).toBeGreaterThan(0);
  });

  it("links a class that exists only in another user's dataset, as D1 does (the legacy create takes existing classes)", async () => {
    const { owner, seeded } = await moved();
    const other = await createUser();
    const elsewhere = await expectStatus(post("/api/dataset/", { name: "elsewhere" }, other.key), 200);
    const okapi = { dataset_id: elsewhere.id, name: "S", annotation_task: "Object detection", classes: ["Okapi-elsewhere"] };
    await expectStatus(post("/api/v1/ui/annotation-sets/", okapi, other.key), 201);
    const body = { name: "L", task: 1, dataset: seeded.datasetId, classes: [{ name: "okapi-elsewhere" }, { name: "Never-seen-xyz" }] };
    const set = await expectStatus<any>(post("/api/annotation-set/", body, owner.key), 201);
    expect(set.classes.map((c: any) => c.name)).toEqual(["Okapi-elsewhere"]);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM classes WHERE name = 'Never-seen-xyz'").first<number>("n")).toBe(0);
  });

  it("keeps D1's set registry in step: a set created, renamed and deleted in a moved dataset is found by its id", async () => {
    const { owner, seeded } = await moved();
    const body = { dataset_id: seeded.datasetId, name: "Made after the move", annotation_task: "Object detection", classes: ["Car"] };
    const set = await expectStatus<any>(post("/api/v1/ui/annotation-sets/", body, owner.key), 201);
    const inD1 = () => env.DB.prepare("SELECT dataset_id, name FROM annotation_sets WHERE id = ?").bind(set.id).first();
    expect(await inD1()).toEqual({ dataset_id: seeded.datasetId, name: "Made after the move" });
    expect((await expectStatus<any>(get(`/api/v1/ui/annotation-sets/${set.id}/`, owner.key), 200)).name).toBe("Made after the move");
    await expectError(post("/api/v1/ui/annotation-sets/", body, owner.key), 400, /exists/);
    await expectStatus(call("PUT", `/api/v1/ui/annotation-sets/${set.id}/`, { key: owner.key, json: { name: "Renamed" } }), 200);
    expect(await inD1()).toEqual({ dataset_id: seeded.datasetId, name: "Renamed" });
    await expectStatus(del(`/api/v1/ui/annotation-sets/${set.id}/`, owner.key), 204);
    expect(await inD1()).toBeNull();
    await expectError(get(`/api/v1/ui/annotation-sets/${set.id}/`, owner.key), 404);
  });

  it("lists and the global search read a moved dataset from its object, never from D1's stale rows", async () => {
    const { owner, seeded } = await moved();
    const plain = await seedFixtureSet(owner, "still in D1");
    const [imageId] = seeded.imageIds.values();
    const listedBefore = unsigned(await expectStatus(get("/api/v1/ui/datasets/", owner.key), 200));
    const objects = [boxOfClass("Only-in-object")];
    await expectStatus(call("PUT", `/api/v1/ui/annotation-sets/${seeded.setId}/images/${imageId}/annotations/`, { key: owner.key, json: { objects } }), 200);
    // D1's copies of the images go: the lists' thumbnails must still come (from the object).
    await deliver({ type: "prune-dataset-d1", datasetId: seeded.datasetId });

    expect(unsigned(await expectStatus(get("/api/v1/ui/datasets/", owner.key), 200))).toEqual(listedBefore);
    const legacy = await expectStatus<any>(get("/api/dataset/", owner.key), 200);
    const item = legacy.results.find((d: any) => d.id === seeded.datasetId);
    expect(item.top3_classes.map((c: any) => c.name)).toContain("Only-in-object");
    expect(item.image_thumbnails.length).toBeGreaterThan(0);
    expect(legacy.results.find((d: any) => d.id === plain.datasetId).image_thumbnails.length).toBeGreaterThan(0);

    const found = await expectStatus<any>(get(`/api/v1/ui/search/?sets=${seeded.setId},${plain.setId}&classes=Only-in-object`, owner.key), 200);
    expect(found.results.map((r: any) => [r.image_id, r.annotation_set_id])).toEqual([[imageId, seeded.setId]]);
    expect(found.results[0].annotations.classes.concat(found.results[0].annotations.object_classes).join()).toContain("Only-in-object");
    expect(found.results[0].name).toBeTruthy();
    const both = await expectStatus<any>(get(`/api/v1/ui/search/?sets=${seeded.setId},${plain.setId}`, owner.key), 200);
    expect(new Set(both.results.map((r: any) => r.annotation_set_id))).toEqual(new Set([seeded.setId, plain.setId]));
  });

  it("keeps another user out of a moved private dataset, by dataset, set and image id", async () => {
    const { seeded } = await moved();
    const other = await createUser();
    const [imageId] = seeded.imageIds.values();
    await expectError(get(`/api/v1/ui/datasets/${seeded.datasetId}/contents/`, other.key), 404);
    await expectError(get(`/api/v1/ui/annotation-sets/${seeded.setId}/`, other.key), 404);
    await expectError(get(`/api/v1/sdk/images/${imageId}`, other.key), 404);
    await expectError(get(`/api/v1/ui/datasets/${seeded.datasetId}/contents/`), 401);
  });

  it("takes uploads into a moved dataset: new images get ids from a block, D1's stale copy gets none of them", async () => {
    const { owner, seeded } = await moved();
    const before = await env.DB.prepare("SELECT count(*) AS n FROM images WHERE dataset_id = ?").bind(seeded.datasetId).first<number>("n");
    const sid = await newSession(owner.key, seeded.datasetId);
    const bytes = makeJpeg(64, 48);
    await expectStatus(uploadMultipart(owner.key, seeded.datasetId, [{ name: "after-switch.jpg", bytes }], { session_id: sid }), 200);
    const s = await completeAndWait(owner.key, sid);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.images).toMatchObject({ total: 1, successful: 1, failed: 0 });
    const contents = await expectStatus(get(`/api/v1/sdk/datasets/${seeded.datasetId}/images/`, owner.key), 200);
    const added = contents.results.find((r: any) => r.name === "after-switch.jpg");
    expect(added.id).toBeGreaterThanOrEqual(IMAGE_BLOCK_BASE);
    expect(contents.count).toBe(seeded.imageIds.size + 1);
    await expectStatus(get(`/api/v1/sdk/images/${added.id}`, owner.key), 200);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM images WHERE dataset_id = ?").bind(seeded.datasetId).first<number>("n")).toBe(before);
    expect(await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(seeded.datasetId).first("image_count")).toBe(
      seeded.imageIds.size + 1,
    );
  });

  it("answers another user's upload into a moved dataset 404, reading the body it forwarded, and serves the next request", async () => {
    const { seeded } = await moved();
    const other = await createUser();
    const form = new FormData();
    form.append("files", new Blob([new Uint8Array(256 * 1024)], { type: "image/jpeg" }), "big.jpg");
    await expectError(call("POST", `/api/dataset/${seeded.datasetId}/upload/`, { key: other.key, body: form }), 404);
    await expectError(post("/api/v1/ui/uploads/", { dataset_id: seeded.datasetId }, other.key), 404);
    await expectStatus(get("/api/user-info/", other.key), 200);
    expect((await env.BUCKET.list({ prefix: "uploads/" })).objects.length).toBe(0);
  });

  it("deletes an image of a moved dataset in its object and marks the original for the blob sweep in D1", async () => {
    const { owner, seeded } = await moved();
    const [imageId] = seeded.imageIds.values();
    const key = await env.DB.prepare("SELECT r2_key FROM images WHERE id = ?").bind(imageId).first<string>("r2_key");
    const before = await expectStatus<any>(get(`/api/v1/ui/datasets/${seeded.datasetId}/`, owner.key), 200);
    await expectStatus(del(`/api/v1/ui/images/${imageId}/`, owner.key), 204);
    await expectError(get(`/api/v1/sdk/images/${imageId}`, owner.key), 404);
    const after = await expectStatus<any>(get(`/api/v1/ui/datasets/${seeded.datasetId}/`, owner.key), 200);
    expect(after.quantity).toBe(before.quantity - 1);
    // The registry's counters (D1) follow the object's.
    expect(await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(seeded.datasetId).first<number>("image_count")).toBe(after.quantity);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM blob_gc WHERE r2_key = ?").bind(key).first<number>("n")).toBe(1);
  });

  it("deletes a moved dataset: D1's registry row, set registry and id ranges go, and the object is emptied", async () => {
    const { owner, seeded } = await moved();
    await expectStatus(del(`/api/v1/ui/datasets/${seeded.datasetId}/`, owner.key), 204);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM datasets WHERE id = ?").bind(seeded.datasetId).first<number>("n")).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM annotation_sets WHERE dataset_id = ?").bind(seeded.datasetId).first<number>("n")).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM image_id_ranges WHERE dataset_id = ?").bind(seeded.datasetId).first<number>("n")).toBe(0);
    await expectError(get(`/api/v1/ui/datasets/${seeded.datasetId}/`, owner.key), 404);
    await expectError(get(`/api/v1/ui/annotation-sets/${seeded.setId}/`, owner.key), 404);
    await deliver({ type: "destroy-dataset-store", datasetId: seeded.datasetId });
    expect(await datasetStore(env, seeded.datasetId).isProvisioned()).toBe(false);
  });

  it("drops D1's copy after the switch in chunks and passes: what a dataset created in its object has stays, reads do not change", async () => {
    const { op, owner, seeded } = await moved();
    const before = await reads(owner, seeded);
    const rows = await d1Rows(seeded.datasetId);
    expect(rows.images).toBe(seeded.imageIds.size);
    expect(rows.annotation_objects).toBeGreaterThan(0);
    const keys = (await env.DB.prepare("SELECT DISTINCT r2_key FROM images WHERE dataset_id = ?").bind(seeded.datasetId).raw<[string]>()).map(([k]) => k);

    // A pass whose budget is spent after one chunk deletes that chunk and queues the next pass (the real consumer).
    expect(await runD1Prune(env, seeded.datasetId, { chunk: 2, budgetMs: -1 })).toEqual({ done: false, images: 2 });
    expect((await d1Rows(seeded.datasetId)).images).toBe(seeded.imageIds.size - 2);
    const deadline = Date.now() + 30_000;
    while ((await status(op.key, seeded.datasetId)).state !== "pruned") {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await d1Rows(seeded.datasetId)).toEqual({
      ...Object.fromEntries(Object.keys(rows).map((t) => [t, 0])),
      datasets: 1,
      annotation_sets: rows.annotation_sets,
    });
    // Every key the dataset used is now referenced in blob_refs, so the sweep asks the object.
    const refs = await env.DB.prepare("SELECT r2_key FROM blob_refs WHERE dataset_id = ?").bind(seeded.datasetId).raw<[string]>();
    expect(refs.map(([k]) => k).sort()).toEqual([...keys].sort());
    expect(await reads(owner, seeded)).toEqual(before);
    // Idempotent: a second run finds nothing to do.
    expect(await runD1Prune(env, seeded.datasetId)).toEqual({ done: true, images: 0 });

    // The sweep keeps a key the object's images use, and deletes it once the image is deleted there.
    const key = keys[0];
    await env.DB.prepare("INSERT INTO blob_gc (r2_key) VALUES (?)").bind(key).run();
    await deliver({ type: "gc-blobs" });
    expect(await env.BUCKET.head(key)).not.toBeNull();
    const owning = await runInDurableObject(datasetStore(env, seeded.datasetId), (_o, state) =>
      state.storage.sql.exec<{ id: number }>("SELECT id FROM images WHERE r2_key = ?", key).toArray().map((r) => r.id),
    );
    for (const id of owning) await expectStatus(del(`/api/v1/ui/images/${id}/`, owner.key), 204);
    await deliver({ type: "gc-blobs" });
    expect(await env.BUCKET.head(key)).toBeNull();
    expect(await env.DB.prepare("SELECT count(*) AS n FROM blob_refs WHERE r2_key = ?").bind(key).first<number>("n")).toBe(0);
  });

  it("leaves a switched dataset alone when the one-time copy runs over it again (no false mismatch)", async () => {
    const { op, seeded } = await moved();
    await deliver({ type: "copy-dataset-store", datasetId: seeded.datasetId });
    const s = await status(op.key, seeded.datasetId);
    expect([s.store, s.state, s.passes]).toEqual(["object", "switched", 1]);
  });

  it("never prunes a dataset D1 still serves, nor one being switched", async () => {
    const op = await superuser();
    const owner = await createUser();
    const plain = await seedFixtureSet(owner, "in D1");
    const frozen = await seedFixtureSet(owner, "frozen");
    await expectStatus(switchOver(op.key, frozen.datasetId), 202);
    const rows = [await d1Rows(plain.datasetId), await d1Rows(frozen.datasetId)];
    await deliver({ type: "prune-dataset-d1", datasetId: plain.datasetId });
    await deliver({ type: "prune-dataset-d1", datasetId: frozen.datasetId });
    await deliver({ type: "prune-dataset-d1", datasetId: 987_654_321 });
    expect([await d1Rows(plain.datasetId), await d1Rows(frozen.datasetId)]).toEqual(rows);
    const refs = "SELECT count(*) AS n FROM blob_refs WHERE dataset_id IN (?, ?)";
    expect(await env.DB.prepare(refs).bind(plain.datasetId, frozen.datasetId).first<number>("n")).toBe(0);
    expect((await status(op.key, plain.datasetId)).state).toBeNull();
  });

  it("refuses a second switch, another user, a missing dataset, and a dataset with an open upload", async () => {
    const { op, owner, seeded } = await moved();
    await expectError(switchOver(op.key, seeded.datasetId), 409, /already/);
    await expectError(switchOver(owner.key, seeded.datasetId), 403);
    await expectError(switchOver(op.key, 987_654_321), 404);
    await expectError(switchOver(op.key, 0), 400);
    const busy = await seedFixtureSet(owner, "busy");
    await expectStatus(post("/api/v1/ui/uploads/", { dataset_id: busy.datasetId }, owner.key), 201);
    await expectError(switchOver(op.key, busy.datasetId), 409, /upload/);
    expect((await status(op.key, busy.datasetId)).store).toBe("d1");
  });

  it("goes back to D1, writes open again, when the switch-over job dead-letters", async () => {
    const op = await superuser();
    const owner = await createUser();
    const seeded = await seedFixtureSet(owner);
    await expectStatus(switchOver(op.key, seeded.datasetId), 202);
    await deliver({ type: "switch-dataset-store", datasetId: seeded.datasetId, fresh: true }, "remo-ingest-dlq");
    const s = await status(op.key, seeded.datasetId);
    expect([s.store, s.state]).toEqual(["d1", "failed"]);
    // Writes are open again, and D1 serves them.
    await expectStatus(patch(`/api/v1/ui/datasets/${seeded.datasetId}/`, { name: "after-failure" }, owner.key), 200);
    expect(await env.DB.prepare("SELECT name FROM datasets WHERE id = ?").bind(seeded.datasetId).first<string>("name")).toBe("after-failure");
  });
});
