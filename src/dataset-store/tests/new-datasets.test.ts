import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { createDataset as createDatasetService } from "../../services/datasets";
import { finishSession } from "../../services/ingest/progress";
import { forgetMovedRoutes } from "../forward";
import { IMAGE_BLOCK_BASE, locateImage } from "../locate";
import { datasetStore } from "../store";
import { del, expectError, expectStatus, get, post } from "../../../test/helpers/api";
import { inDataset } from "../../../test/helpers/dataset-rows";
import { createUser, insertImage, type TestUser } from "../../../test/helpers/factories";
import { completeAndWait, fixture, FIXTURE_IMAGES, newSession, uploadMultipart, waitForSession } from "../../../test/helpers/upload-helpers";
import { deliver } from "./helpers";

/**
 * Datasets created straight in their DatasetStore (DATASET_STORE_NEW = "object"), and uploads into a dataset served
 * by its object. This suite's Worker creates datasets in D1 (vitest.config.ts); these cases call the create service
 * with the deployment's setting on, then use the API as a client would. vitest.objects.config.ts runs the whole API
 * suite with the setting on.
 */
const objectEnv = { ...(env as unknown as Env), DATASET_STORE_NEW: "object" };

async function datasetInObject(u: TestUser, name = `obj-${Math.random().toString(36).slice(2, 8)}`) {
  const user = { id: u.id, email: u.email, name: "", isSuperuser: false, keyId: 0 };
  return createDatasetService({ db: createDb(env.DB), env: objectEnv, user, requestId: "test" }, { name });
}

/** A new user's dataset in its object, with the first `n` fixture photos sent to a new session (not completed). */
async function uploadedInObject(n: number) {
  const u = await createUser();
  const ds = await datasetInObject(u);
  const sid = await newSession(u.key, ds.id);
  const files = await Promise.all(FIXTURE_IMAGES.slice(0, n).map(async (name) => ({ name, bytes: await fixture(`images/${name}`) })));
  await expectStatus(uploadMultipart(u.key, ds.id, files, { session_id: sid }), 200);
  return { u, ds, sid };
}

const d1Count = (sql: string, ...params: unknown[]) =>
  env.DB.prepare(sql)
    .bind(...params)
    .first<number>("n");

async function objectImages(datasetId: number) {
  return inDataset(datasetId, async (db) =>
    (await db.prepare("SELECT id, original_name, r2_key, upload_session_id FROM images ORDER BY id").all<{
      id: number;
      original_name: string;
      r2_key: string;
      upload_session_id: string;
    }>()).results,
  );
}

afterEach(forgetMovedRoutes);

describe("a dataset created in its DatasetStore", () => {
  it("is provisioned at creation: the registry says 'object', the object holds its row and its owner, D1 no rows", async () => {
    const u = await createUser();
    const ds = await datasetInObject(u, "Fresh");
    expect(ds.store).toBe("object");
    expect(await env.DB.prepare("SELECT store FROM datasets WHERE id = ?").bind(ds.id).first("store")).toBe("object");
    const inObject = await runInDurableObject(datasetStore(env as never, ds.id), (_i, state) => ({
      dataset: state.storage.sql.exec("SELECT id, name, owner_id FROM datasets").toArray(),
      users: state.storage.sql.exec("SELECT id, password_hash FROM users").toArray(),
    }));
    expect(inObject.dataset).toEqual([{ id: ds.id, name: "Fresh", owner_id: u.id }]);
    expect(inObject.users).toEqual([{ id: u.id, password_hash: "" }]);
    // The API serves it from there: the detail, an empty contents page, and the owner's list.
    expect(await expectStatus(get(`/api/v1/ui/datasets/${ds.id}/`, u.key), 200)).toMatchObject({ id: ds.id, name: "Fresh" });
    expect((await expectStatus(get(`/api/v1/ui/datasets/${ds.id}/contents/`, u.key), 200)).count).toBe(0);
    const other = await createUser();
    await expectError(get(`/api/v1/ui/datasets/${ds.id}/`, other.key), 404);
  });

  it("takes an upload: image ids come from the dataset's block, every id route finds them, D1 holds no image row", async () => {
    const { u, ds, sid } = await uploadedInObject(3);
    const s = await completeAndWait(u.key, sid);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.images).toMatchObject({ total: 3, successful: 3, failed: 0 });

    const rows = await objectImages(ds.id);
    expect(rows.map((r) => r.original_name).sort()).toEqual(FIXTURE_IMAGES.slice(0, 3).sort());
    expect(rows.map((r) => r.id)).toEqual([IMAGE_BLOCK_BASE, IMAGE_BLOCK_BASE + 1, IMAGE_BLOCK_BASE + 2]);
    expect(await d1Count("SELECT count(*) AS n FROM images WHERE dataset_id = ?", ds.id)).toBe(0);
    const registry = await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(ds.id).first("image_count");
    expect(registry).toBe(3);
    for (const r of rows) {
      expect(await locateImage(env as never, r.id)).toBe(ds.id);
      const img = await expectStatus(get(`/api/v1/sdk/images/${r.id}`, u.key), 200);
      expect(img).toMatchObject({ id: r.id, name: r.original_name });
    }
    const zoom = await expectStatus(get(`/api/v1/ui/images/${rows[0].id}/deepzoom/`, u.key), 200);
    const dzi = await get(new URL(zoom.dzi, "http://remo.test").pathname + new URL(zoom.dzi, "http://remo.test").search);
    expect(dzi.status).toBe(200);
    expect(await dzi.text()).toContain('Width="1024"');
    const other = await createUser();
    await expectError(get(`/api/v1/sdk/images/${rows[0].id}`, other.key), 404);
    // D1 knows which blobs the object uses, for the sweep.
    const refs = await env.DB.prepare("SELECT r2_key FROM blob_refs WHERE dataset_id = ? ORDER BY r2_key").bind(ds.id).all<{ r2_key: string }>();
    expect(refs.results.map((r) => r.r2_key)).toEqual(rows.map((r) => r.r2_key).sort());
  });

  it("loses nothing to two concurrent uploads: every name once, the shared one refused once, counters exact", async () => {
    const u = await createUser();
    const ds = await datasetInObject(u);
    const [a, b] = [await newSession(u.key, ds.id), await newSession(u.key, ds.id)];
    const bytes = await Promise.all(FIXTURE_IMAGES.map((name) => fixture(`images/${name}`)));
    // Session a: images 0-3; session b: images 3-6. Image 3 (same name, same bytes) is in both.
    const partsA = FIXTURE_IMAGES.slice(0, 4).map((name, i) => ({ name, bytes: bytes[i] }));
    const partsB = FIXTURE_IMAGES.slice(3).map((name, i) => ({ name, bytes: bytes[i + 3] }));
    await Promise.all([
      expectStatus(uploadMultipart(u.key, ds.id, partsA, { session_id: a }), 200),
      expectStatus(uploadMultipart(u.key, ds.id, partsB, { session_id: b }), 200),
    ]);
    await Promise.all([post(`/api/v1/ui/uploads/${a}/complete/`, {}, u.key), post(`/api/v1/ui/uploads/${b}/complete/`, {}, u.key)]);
    const [sa, sb] = await Promise.all([waitForSession(u.key, a), waitForSession(u.key, b)]);
    const rows = await objectImages(ds.id);
    expect(rows.map((r) => r.original_name).sort()).toEqual([...FIXTURE_IMAGES].sort());
    expect(new Set(rows.map((r) => r.id)).size).toBe(FIXTURE_IMAGES.length);
    for (const r of rows) expect(r.id).toBeGreaterThanOrEqual(IMAGE_BLOCK_BASE);
    // The shared name went to exactly one session; the other says "Duplicated image" for it, and failed.
    const winners = rows.filter((r) => r.original_name === FIXTURE_IMAGES[3]).map((r) => r.upload_session_id);
    expect(winners).toHaveLength(1);
    const loser = winners[0] === a ? sb : sa;
    expect(loser.status).toBe("failed");
    expect(loser.images).toMatchObject({ total: 4, successful: 3, failed: 1 });
    expect(JSON.stringify(loser.images.errors)).toContain("Duplicated image");
    const winner = winners[0] === a ? sa : sb;
    expect(winner.images).toMatchObject({ total: 4, successful: 4, failed: 0 });
    const registry = await env.DB.prepare("SELECT image_count, size_in_bytes FROM datasets WHERE id = ?").bind(ds.id).first<any>();
    expect(registry.image_count).toBe(FIXTURE_IMAGES.length);
    expect(registry.size_in_bytes).toBe(bytes.reduce((n, x) => n + x.length, 0));
  });

  it("recounts a session's images from the object when it finishes, after a crash lost the counters' D1 write", async () => {
    const { u, ds, sid } = await uploadedInObject(2);
    expect((await completeAndWait(u.key, sid)).images).toMatchObject({ total: 2, successful: 2 });
    // The state a crash between the object's transaction and the D1 batch leaves: rows in, counters not moved.
    await env.DB.prepare(
      "UPDATE upload_sessions SET status = 'in progress', images_total = 0, images_successful = 0, finished_at = NULL WHERE id = ?",
    )
      .bind(sid)
      .run();
    await inDataset(ds.id, (db, e) => finishSession(e, createDb(db), sid));
    const s = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, u.key), 200);
    expect(s.status).toBe("done");
    expect(s.images).toMatchObject({ total: 2, successful: 2, failed: 0 });
  });

  it("keeps a blob the object's image uses when D1's image with the same bytes is deleted, and sweeps it after both", async () => {
    const u = await createUser();
    const inD1 = await expectStatus(post("/api/dataset/", { name: "in d1" }, u.key), 200);
    const inObj = await datasetInObject(u);
    const bytes = new TextEncoder().encode("same bytes in two datasets");
    const a = await insertImage(inD1.id, { name: "a.jpg", bytes });
    const b = await insertImage(inObj.id, { name: "b.jpg", bytes });
    expect(a.r2Key).toBe(b.r2Key);
    expect(b.id).toBeGreaterThanOrEqual(IMAGE_BLOCK_BASE);

    await expectStatus(del(`/api/v1/ui/images/${a.id}/`, u.key), 204);
    await deliver({ type: "gc-blobs" });
    expect(await env.BUCKET.head(a.r2Key)).not.toBeNull();
    expect(await d1Count("SELECT count(*) AS n FROM blob_refs WHERE dataset_id = ?", inObj.id)).toBe(1);

    await expectStatus(del(`/api/v1/ui/images/${b.id}/`, u.key), 204);
    await deliver({ type: "gc-blobs" });
    expect(await env.BUCKET.head(a.r2Key)).toBeNull();
    expect(await d1Count("SELECT count(*) AS n FROM blob_refs WHERE dataset_id = ?", inObj.id)).toBe(0);
  });

  it("is deleted with its object's data and its blob references", async () => {
    const u = await createUser();
    const ds = await datasetInObject(u);
    await insertImage(ds.id, { name: "x.jpg" });
    await expectStatus(del(`/api/v1/ui/datasets/${ds.id}/`, u.key), 204);
    await deliver({ type: "destroy-dataset-store", datasetId: ds.id });
    expect(await datasetStore(env as never, ds.id).isProvisioned()).toBe(false);
    expect(await d1Count("SELECT count(*) AS n FROM blob_refs WHERE dataset_id = ?", ds.id)).toBe(0);
    expect(await d1Count("SELECT count(*) AS n FROM image_id_ranges WHERE dataset_id = ?", ds.id)).toBe(0);
    await expectError(get(`/api/v1/ui/datasets/${ds.id}/`, u.key), 404);
  });
});
