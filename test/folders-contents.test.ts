import { datasetD1, datasetRows } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, patch, post } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

type Item = { record_type: string; folder: { id: number; name: string; total_images: number } | null; image: { id: number; name: string } | null };

describe("folders", () => {
  it("creates nested folders, renames and moves them", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const animals = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "Animals" }, u.key), 201);
    expect(animals).toMatchObject({ name: "Animals", dataset_id: d.id, parent_folder_id: null });
    const cats = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "Cats", parent_folder_id: animals.id }, u.key), 201);
    expect(cats.parent_folder_id).toBe(animals.id);
    const renamed = await expectStatus(patch(`/api/user-dataset/${d.id}/folders/${cats.id}/`, { name: "Felines" }, u.key), 200);
    expect(renamed.name).toBe("Felines");
    const moved = await expectStatus(patch(`/api/user-dataset/${d.id}/folders/${cats.id}/`, { parent_folder_id: null }, u.key), 200);
    expect(moved.parent_folder_id).toBeNull();
  });

  it("rejects an empty name, a parent from another dataset, and moving a folder into its own subtree", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const d2 = await createDataset(u);
    await expectError(post(`/api/user-dataset/${d.id}/folders/`, { name: "  " }, u.key), 400, /name/);
    await expectError(post(`/api/user-dataset/${d.id}/folders/`, {}, u.key), 400, /name/);
    const elsewhere = await expectStatus(post(`/api/user-dataset/${d2.id}/folders/`, { name: "x" }, u.key), 201);
    await expectError(post(`/api/user-dataset/${d.id}/folders/`, { name: "y", parent_folder_id: elsewhere.id }, u.key), 404);
    await expectError(post(`/api/user-dataset/${d.id}/folders/`, { name: "y", parent_folder_id: "abc" }, u.key), 400, /parent_folder_id/);
    const a = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "a" }, u.key), 201);
    const b = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "b", parent_folder_id: a.id }, u.key), 201);
    await expectError(patch(`/api/user-dataset/${d.id}/folders/${a.id}/`, { parent_folder_id: b.id }, u.key), 400, /subfolder/);
    await expectError(patch(`/api/user-dataset/${d.id}/folders/${a.id}/`, { parent_folder_id: a.id }, u.key), 400);
    // a folder id under the wrong dataset is a 404
    await expectError(patch(`/api/user-dataset/${d2.id}/folders/${a.id}/`, { name: "z" }, u.key), 404);
  });

  it("refuses to delete a non-empty folder (409) unless recursive, which removes its subtree and images", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const top = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "top" }, u.key), 201);
    const sub = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "sub", parent_folder_id: top.id }, u.key), 201);
    await insertImage(d.id, { folderId: sub.id });
    await insertImage(d.id, { folderId: top.id });
    const keep = await insertImage(d.id);
    await expectError(del(`/api/user-dataset/${d.id}/folders/${top.id}/`, u.key), 409, /recursive=true/);
    await expectError(del(`/api/user-dataset/${d.id}/folders/${sub.id}/`, u.key), 409, /\(0 folders, 1 images\)/);
    await expectStatus(del(`/api/user-dataset/${d.id}/folders/${top.id}/?recursive=true`, u.key), 204);
    const left = await datasetD1({ datasetId: d.id }).prepare("SELECT id FROM images WHERE dataset_id = ?").bind(d.id).all<{ id: number }>();
    expect(left.results.map((r) => r.id)).toEqual([keep.id]);
    expect((await expectStatus(get(`/api/v1/ui/datasets/${d.id}/`, u.key), 200)).quantity).toBe(1);
    const folders = await datasetD1({ datasetId: d.id }).prepare("SELECT COUNT(*) AS n FROM folders WHERE dataset_id = ?").bind(d.id).first<{ n: number }>();
    expect(folders!.n).toBe(0);
    const empty = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "empty" }, u.key), 201);
    await expectStatus(del(`/api/user-dataset/${d.id}/folders/${empty.id}/`, u.key), 204);
    await expectError(del(`/api/user-dataset/${d.id}/folders/${empty.id}/`, u.key), 404);
    await expectError(del(`/api/user-dataset/${d.id}/folders/${top.id}/?recursive=maybe`, u.key), 400, /recursive/);
  });

  it("keeps set statistics exact when a recursive folder delete takes some annotated images", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const f = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "f" }, u.key), 201);
    const gone = await insertImage(d.id, { folderId: f.id, width: 300, height: 200 });
    const kept = await insertImage(d.id, { width: 300, height: 200 });
    const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S", classes: [] }, u.key), 201);
    const box = (x: number, cls: string) => ({ coordinates: [{ x, y: 1 }, { x: x + 10, y: 20 }], classes: [{ name: cls }] });
    const save = (imageId: number, objects: unknown[]) =>
      expectStatus(post(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${imageId}/save-annotation/`, { objects, status: "done" }, u.key), 200);
    await save(gone.id, [box(1, "Car"), box(50, "Car"), box(100, "Person")]);
    await save(kept.id, [box(1, "Car")]);
    await expectStatus(del(`/api/user-dataset/${d.id}/folders/${f.id}/?recursive=true`, u.key), 204);
    const s = (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0];
    expect(s.total_images).toBe(1);
    expect(s.statistics).toMatchObject({ annotated_images_count: 1, total_annotation_objects: 1, done_count: 1 });
    const counts = Object.fromEntries(s.statistics.all_classes.map((c: { name: string; count: number }) => [c.name, c.count]));
    expect(counts.Car).toBe(1);
    expect(counts.Person ?? 0).toBe(0);
  });

  it("answers 404 on another user's private dataset and 403 on someone else's public one", async () => {
    const owner = await createUser();
    const other = await createUser();
    const priv = await createDataset(owner);
    const pub = await createDataset(owner);
    await makePublic(owner, pub.id);
    const f = await expectStatus(post(`/api/user-dataset/${pub.id}/folders/`, { name: "f" }, owner.key), 201);
    await expectError(post(`/api/user-dataset/${priv.id}/folders/`, { name: "x" }, other.key), 404);
    await expectError(post(`/api/user-dataset/${pub.id}/folders/`, { name: "x" }, other.key), 403);
    await expectError(patch(`/api/user-dataset/${pub.id}/folders/${f.id}/`, { name: "x" }, other.key), 403);
    await expectError(del(`/api/user-dataset/${pub.id}/folders/${f.id}/`, other.key), 403);
  });
});

describe("dataset contents", () => {
  it("lists folders first, then images, with one offset over both and relative links", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const f1 = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "f1" }, u.key), 201);
    const f2 = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "f2" }, u.key), 201);
    const inF1 = await insertImage(d.id, { folderId: f1.id, width: 300, height: 200 });
    const root = [await insertImage(d.id), await insertImage(d.id), await insertImage(d.id)];

    const all = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/`, u.key), 200);
    expect(all.count).toBe(5);
    expect(all.results.map((i: Item) => i.record_type)).toEqual(["folder", "folder", "image", "image", "image"]);
    expect(all.results[0].folder).toMatchObject({ id: f1.id, total_images: 1 });
    expect(all.results[0].folder.preview).toMatch(/^\/files\/images\/\d+\/preview\.jpg\?/);
    expect(all.results[1].folder).toMatchObject({ id: f2.id, total_images: 0, preview: null });
    expect(all.results.slice(2).map((i: Item) => i.image!.id)).toEqual(root.map((r) => r.id));

    const p1 = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?limit=3`, u.key), 200);
    expect(p1.results.map((i: Item) => i.record_type)).toEqual(["folder", "folder", "image"]);
    const p2 = await expectStatus(get(p1.next, u.key), 200);
    expect(p2.results.map((i: Item) => i.image!.id)).toEqual([root[1].id, root[2].id]);
    expect(p2.next).toBeNull();
    expect(p2.previous).toMatch(/^\/api\/v1\/ui\/datasets\/\d+\/contents\/?\?limit=3$/);

    const inside = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/${f1.id}/`, u.key), 200);
    expect(inside.count).toBe(1);
    const img = inside.results[0].image;
    expect(img).toMatchObject({ id: inF1.id, name: inF1.name, dimensions: [300, 200], annotations: [] });
    expect(img.view).toMatch(/^\/files\/images\/\d+\/view\.jpg\?exp=\d+&sig=/);
    expect(img.created_at).toMatch(/Z$/);

    const legacy = await expectStatus(get(`/api/user-dataset/${d.id}/contents/${f1.id}/`, u.key), 200);
    expect(legacy.results[0].image.id).toBe(inF1.id);
    const legacyRoot = await expectStatus(get(`/api/user-dataset/${d.id}/contents/`, u.key), 200);
    expect(legacyRoot.count).toBe(5);
  });

  it("counts each folder's images with SQLite's triggers through inserts, deletes and a recursive folder delete", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const other = await createDataset(u);
    const top = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "top" }, u.key), 201);
    const sub = await expectStatus(post(`/api/user-dataset/${d.id}/folders/`, { name: "sub", parent_folder_id: top.id }, u.key), 201);
    const root = [await insertImage(d.id), await insertImage(d.id), await insertImage(d.id)];
    await insertImage(d.id, { folderId: top.id });
    await insertImage(d.id, { folderId: sub.id });
    await insertImage(d.id, { folderId: sub.id });
    await insertImage(other.id);
    const counted = async () =>
      datasetRows<{ folder_id: number; image_count: number }>(
        d.id,
        "SELECT folder_id, image_count FROM folder_image_counts WHERE dataset_id = ? AND image_count > 0 ORDER BY folder_id",
        d.id,
      );
    const recount = async () =>
      datasetRows<{ folder_id: number; image_count: number }>(
        d.id,
        "SELECT coalesce(folder_id, 0) AS folder_id, count(*) AS image_count FROM images WHERE dataset_id = ? GROUP BY 1 ORDER BY 1",
        d.id,
      );
    expect(await counted()).toEqual([{ folder_id: 0, image_count: 3 }, { folder_id: top.id, image_count: 1 }, { folder_id: sub.id, image_count: 2 }]);
    expect(await counted()).toEqual(await recount());
    const page = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/`, u.key), 200);
    expect(page.count).toBe(4);
    const inTop = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/${top.id}/`, u.key), 200);
    expect(inTop.count).toBe(2);
    expect(inTop.results[0].folder).toMatchObject({ id: sub.id, total_images: 2 });

    await expectStatus(del(`/api/v1/ui/images/${root[1].id}/`, u.key), 204);
    await expectStatus(del(`/api/user-dataset/${d.id}/folders/${top.id}/?recursive=true`, u.key), 204);
    expect(await counted()).toEqual([{ folder_id: 0, image_count: 2 }]);
    expect(await counted()).toEqual(await recount());
    expect((await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?offset=1`, u.key), 200)).count).toBe(2);
    // The deleted folders' rows went with them; the other dataset's count was never touched.
    expect(await datasetRows(d.id, "SELECT folder_id FROM folder_image_counts WHERE dataset_id = ? AND folder_id <> 0", d.id)).toEqual([]);
    expect((await expectStatus(get(`/api/v1/ui/datasets/${other.id}/contents/`, u.key), 200)).count).toBe(1);
  });

  it("rejects bad ids and paging, a folder of another dataset, and hides private datasets from others", async () => {
    const u = await createUser();
    const other = await createUser();
    const d = await createDataset(u);
    const d2 = await createDataset(u);
    const f = await expectStatus(post(`/api/user-dataset/${d2.id}/folders/`, { name: "f" }, u.key), 201);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/${f.id}/`, u.key), 404);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/x/`, u.key), 400);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?limit=-1`, u.key), 400);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/`, other.key), 404);
    await expectError(get(`/api/user-dataset/${d.id}/contents/`, other.key), 404);
    await makePublic(u, d.id);
    await expectStatus(get(`/api/user-dataset/${d.id}/contents/`, other.key), 200);
  });
});
