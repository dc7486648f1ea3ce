import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, del, expectError, expectStatus, get } from "../../../test/helpers/api";
import { createDataset, createUser, type TestUser } from "../../../test/helpers/factories";
import { seedFixtureSet } from "../../../test/helpers/seed-annotations";
import { locateImage } from "../locate";
import { datasetStore } from "../store";
import { deliver, superuser } from "./helpers";

const status = (key: string, id: number) => expectStatus<any>(get(`/api/v1/admin/dataset-stores/${id}`, key), 200);
const startCopy = (key: string, json: unknown) => call("POST", "/api/v1/admin/dataset-stores/copy", { key, json });

describe("POST /api/v1/admin/dataset-stores/copy and the copy-dataset-store job", () => {
  it("copies a dataset into its object and records it verified", async () => {
    const op = await superuser();
    const owner = await createUser();
    const seeded = await seedFixtureSet(owner);
    expect(await expectStatus(startCopy(op.key, { dataset_id: seeded.datasetId }), 202)).toEqual({ queued: seeded.datasetId });
    await deliver({ type: "copy-dataset-store", datasetId: seeded.datasetId });
    const s = await status(op.key, seeded.datasetId);
    expect(s.state).toBe("verified");
    expect(s.passes).toBe(1);
    expect(s.rows_copied).toBeGreaterThan(seeded.imageIds.size);
    expect(s.counts.equal).toBe(true);
    expect(s.counts.d1.images).toBe(seeded.imageIds.size);
    // Its images were ingested together, so one range of ids locates all of them without D1's rows.
    expect(s.detail).toEqual({ image_id_ranges: 1 });
    const [imageId] = seeded.imageIds.values();
    await env.DB.prepare("DELETE FROM images WHERE dataset_id = ?").bind(seeded.datasetId).run();
    expect(await locateImage(env, imageId)).toBe(seeded.datasetId);
  });

  it("says mismatch when D1 changed in a way a copy cannot follow (a deleted image), with both counts", async () => {
    const op = await superuser();
    const owner = await createUser();
    const seeded = await seedFixtureSet(owner);
    await deliver({ type: "copy-dataset-store", datasetId: seeded.datasetId });
    const [imageId] = seeded.imageIds.values();
    await expectStatus(del(`/api/v1/ui/images/${imageId}/`, owner.key), 204);
    await deliver({ type: "copy-dataset-store", datasetId: seeded.datasetId });
    const s = await status(op.key, seeded.datasetId);
    expect(s.state).toBe("mismatch");
    expect(s.detail.d1.images).toBe(seeded.imageIds.size - 1);
    expect(s.detail.store.images).toBe(seeded.imageIds.size);
  });

  it("marks the copy failed from the dead-letter queue", async () => {
    const op = await superuser();
    const ds = await createDataset(await createUser());
    await deliver({ type: "copy-dataset-store", datasetId: ds.id });
    await deliver({ type: "copy-dataset-store", datasetId: ds.id }, "remo-ingest-dlq");
    expect((await status(op.key, ds.id)).state).toBe("failed");
  });

  it("copies nothing and creates no storage for a dataset deleted before its message ran", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    await expectStatus(del(`/api/v1/ui/datasets/${ds.id}/`, owner.key), 204);
    await deliver({ type: "copy-dataset-store", datasetId: ds.id });
    expect(await datasetStore(env, ds.id).isProvisioned()).toBe(false);
    const row = await env.DB.prepare("SELECT * FROM dataset_store_copies WHERE dataset_id = ?").bind(ds.id).first();
    expect(row).toBeNull();
  });

  it("fans out over every dataset: the fan-out queues one copy per dataset", async () => {
    const op = await superuser();
    const owner = await createUser();
    const a = await createDataset(owner);
    const b = await createDataset(owner);
    expect(await expectStatus(startCopy(op.key, {}), 202)).toEqual({ queued: "all" });
    await deliver({ type: "copy-dataset-stores", afterId: a.id - 1 });
    // The fan-out's messages reach the real consumer; wait for both copies to be verified.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all([a.id, b.id].map(async (id) => (await status(op.key, id)).state));
      if (states.every((s) => s === "verified")) break;
      expect(Date.now(), `states ${states}`).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it("refuses bad input: an unknown dataset is 404, a wrong type or an unknown field is 400", async () => {
    const op = await superuser();
    await expectError(startCopy(op.key, { dataset_id: 987654321 }), 404);
    await expectError(startCopy(op.key, { dataset_id: "one" }), 400);
    await expectError(startCopy(op.key, { dataset: 1 }), 400);
    await expectError(get("/api/v1/admin/dataset-stores/987654321", op.key), 404);
    await expectError(get("/api/v1/admin/dataset-stores/abc", op.key), 400);
  });

  it("is for superusers only: another user gets 403 and nothing is queued or copied; no key is 401", async () => {
    const owner = await createUser();
    const ds = await createDataset(owner);
    await expectError(startCopy(owner.key, { dataset_id: ds.id }), 403);
    await expectError(get(`/api/v1/admin/dataset-stores/${ds.id}`, owner.key), 403);
    await expectError(call("POST", "/api/v1/admin/dataset-stores/copy", { json: { dataset_id: ds.id } }), 401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await datasetStore(env, ds.id).isProvisioned()).toBe(false);
  });
});
