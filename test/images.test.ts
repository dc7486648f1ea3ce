import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const imgs = [];
  for (let i = 0; i < 3; i++) imgs.push(await insertImage(d.id, { name: `p${i}.jpg`, width: 300, height: 200 }));
  const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S" }, u.key), 201);
  await expectStatus(
    post(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${imgs[0].id}/save-annotation/`, {
      objects: [{ name: "OBJ 1", coordinates: [{ x: 1, y: 2 }, { x: 30, y: 40 }], classes: [{ name: "Car" }] }],
      status: "done",
    }, u.key),
    200,
  );
  await expectStatus(post(`/api/v1/ui/annotation-sets/${set.id}/images/${imgs[0].id}/tags/`, { name: "train" }, u.key), 201);
  return { u, d, imgs, set };
}

describe("images", () => {
  it("lists a dataset's images with thumbnails and annotation counts", async () => {
    const { u, d, imgs } = await world();
    const body = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/images/?limit=2`, u.key), 200);
    expect(body.count).toBe(3);
    expect(body.results.map((r: any) => [r.id, r.name, r.annotates_count])).toEqual([[imgs[0].id, "p0.jpg", 1], [imgs[1].id, "p1.jpg", 0]]);
    expect(body.results[0].thumbnail).toMatch(/^\/files\/images\/\d+\/thumbnail\.jpg\?/);
    expect(body.next).toMatch(/offset=2/);
  });

  it("shows an image with its annotations per set", async () => {
    const { u, d, imgs, set } = await world();
    for (const suffix of ["", "annotations/"]) {
      const body = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/images/${imgs[0].id}/${suffix}`, u.key), 200);
      expect(body).toMatchObject({ id: imgs[0].id, name: "p0.jpg", dimensions: [300, 200], status: "done", dataset: { id: d.id } });
      expect(body.annotations).toEqual([
        {
          annotation_set: { id: set.id, name: "S", task: "object_detection" },
          tags: [{ id: expect.any(Number), name: "train" }],
          classes: { Car: 1 },
          objects: [{ id: expect.any(Number), name: "OBJ 1", coordinates: [{ x: 1, y: 2 }, { x: 30, y: 40 }], classes: ["Car"] }],
        },
      ]);
    }
    const d2 = await createDataset(u);
    await expectError(get(`/api/v1/ui/datasets/${d2.id}/images/${imgs[0].id}/`, u.key), 404);
  });

  it("serves the SDK's image list (all without limit, paginated with it) and single image", async () => {
    const { u, d, imgs } = await world();
    const all = await expectStatus(get(`/api/v1/sdk/datasets/${d.id}/images/`, u.key), 200);
    expect(all.count).toBe(3);
    expect(all.results.map((r: any) => r.id)).toEqual(imgs.map((i) => i.id));
    expect(all.results[0]).toMatchObject({ name: "p0.jpg", dataset_id: d.id, width: 300, height: 200, path: null });
    expect(all.results[0].url).toMatch(/^\/files\/images\/\d+\/original\/p0\.jpg\?/);
    const page = await expectStatus(get(`/api/v1/sdk/datasets/${d.id}/images/?limit=1&offset=1`, u.key), 200);
    expect(page.results.map((r: any) => r.id)).toEqual([imgs[1].id]);
    const one = await expectStatus(get(`/api/v1/sdk/images/${imgs[2].id}/`, u.key), 200);
    expect(one.id).toBe(imgs[2].id);
    expect((await expectError(get(`/api/v1/sdk/images/999999999/`, u.key), 404)).error).toBe("Image with id: 999999999, was not found.");
    expect((await expectError(get(`/api/v1/sdk/datasets/999999999/images/`, u.key), 404)).error).toBe("Dataset with id: 999999999, was not found.");
    await expectError(get(`/api/v1/sdk/datasets/${d.id}/images/?limit=0`, u.key), 400, /limit/);
  });

  it("deletes an image with its annotations, and statistics follow", async () => {
    const { u, d, imgs } = await world();
    await expectStatus(del(`/api/v1/ui/images/${imgs[0].id}/`, u.key), 204);
    await expectError(get(`/api/v1/sdk/images/${imgs[0].id}/`, u.key), 404);
    const s = (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0];
    expect(s.total_images).toBe(2);
    expect(s.statistics).toMatchObject({ annotated_images_count: 0, total_annotation_objects: 0, tags: [], done_count: 0 });
  });

  it("hides private images from others (404) and refuses their deletes on public ones (403)", async () => {
    const { u, d, imgs } = await world();
    const other = await createUser();
    await expectError(get(`/api/v1/ui/datasets/${d.id}/images/`, other.key), 404);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/images/${imgs[0].id}/`, other.key), 404);
    await expectError(get(`/api/v1/sdk/images/${imgs[0].id}/`, other.key), 404);
    await expectError(get(`/api/v1/sdk/datasets/${d.id}/images/`, other.key), 404);
    await expectError(del(`/api/v1/ui/images/${imgs[0].id}/`, other.key), 404);
    await makePublic(u, d.id);
    await expectStatus(get(`/api/v1/sdk/images/${imgs[0].id}/`, other.key), 200);
    await expectStatus(get(`/api/v1/ui/datasets/${d.id}/images/${imgs[0].id}/`, other.key), 200);
    await expectError(del(`/api/v1/ui/images/${imgs[0].id}/`, other.key), 403);
    await expectError(del(`/api/v1/ui/images/abc/`, u.key), 400, /id/);
  });
});

describe("the SDK's full image list", () => {
  it("streams every image of a dataset larger than one internal page, in id order, as valid JSON", async () => {
    const { insertImagesWhereTheyLive } = await import("./helpers/dataset-rows");
    const u = await createUser();
    const d = await createDataset(u);
    // Rows written where the dataset lives, with ids as the ingest takes them there (see test/helpers/dataset-rows.ts).
    await insertImagesWhereTheyLive(d.id, 1100, (db, ids) => {
        const stmts = ids.map((id, i) =>
          db.prepare("INSERT INTO images (id, dataset_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, ?, ?, 'x', 'k', 'image/jpeg', 1, 10, 10)").bind(id, d.id, `s${i}.jpg`),
        );
        stmts.push(db.prepare("UPDATE datasets SET image_count = image_count + 1100 WHERE id = ? AND changes() = 1").bind(d.id));
        return db.batch(stmts);
    });
    const body = await expectStatus(get(`/api/v1/sdk/datasets/${d.id}/images/`, u.key), 200);
    expect(body.count).toBe(1100);
    expect(body.results).toHaveLength(1100);
    const ids = body.results.map((r: any) => r.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(1100);
    expect(body.results[1099].name).toBe("s1099.jpg");
  });
});
