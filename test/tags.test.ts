import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, post, put } from "./helpers/api";
import { datasetRows } from "./helpers/dataset-rows";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const a = await insertImage(d.id);
  const b = await insertImage(d.id);
  const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S" }, u.key), 201);
  const tagsOf = (img: number) => `/api/v1/ui/annotation-sets/${set.id}/images/${img}/tags/`;
  const stats = async () => (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0].statistics;
  return { u, d, a, b, set, tagsOf, stats };
}

describe("tags", () => {
  it("tags an image (lower-cased; 201 then 200), lists and removes it, with statistics following", async () => {
    const { u, a, set, tagsOf, stats } = await world();
    const t = await expectStatus(post(tagsOf(a.id), { name: "  Train " }, u.key), 201);
    expect(t).toEqual({ id: expect.any(Number), name: "train", annotation_set: set.id, image: a.id });
    expect(await expectStatus(post(tagsOf(a.id), { name: "TRAIN" }, u.key), 200)).toEqual(t);
    const list = await expectStatus(get(tagsOf(a.id), u.key), 200);
    expect(list).toMatchObject({ count: 1, results: [t] });
    expect(await stats()).toMatchObject({ tags: ["train"], annotated_images_count: 1 });
    await expectStatus(del(`${tagsOf(a.id)}${t.id}/`, u.key), 204);
    await expectStatus(del(`${tagsOf(a.id)}${t.id}/`, u.key), 204);
    expect(await stats()).toMatchObject({ tags: [], annotated_images_count: 0 });
    await expectError(post(tagsOf(a.id), { name: "   " }, u.key), 400, /Tag name should not be empty/);
    await expectError(post(tagsOf(a.id), {}, u.key), 400, /name/);
  });

  it("lists a set's tags, renames (merging, case kept) and deletes them", async () => {
    const { u, a, b, set, tagsOf, stats } = await world();
    const t1 = await expectStatus(post(tagsOf(a.id), { name: "train" }, u.key), 201);
    const t2 = await expectStatus(post(tagsOf(b.id), { name: "test" }, u.key), 201);
    await expectStatus(post(tagsOf(a.id), { name: "test" }, u.key), 201);
    const list = await expectStatus(get(`/api/v1/ui/annotation-sets/${set.id}/tags/`, u.key), 200);
    expect(list).toEqual({ count: 2, next: null, previous: null, results: [{ id: t2.id, name: "test" }, { id: t1.id, name: "train" }] });
    const merged = await expectStatus(put(`/api/v1/ui/annotation-sets/${set.id}/tags/${t1.id}/`, { name: "test" }, u.key), 200);
    expect(merged).toEqual({ id: t2.id, name: "test" });
    expect((await stats()).tags).toEqual(["test"]);
    const renamed = await expectStatus(put(`/api/v1/ui/annotation-sets/${set.id}/tags/${t2.id}/`, { name: "Holdout" }, u.key), 200);
    expect(renamed.name).toBe("Holdout");
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/tags/${t2.id}/`, { name: "x" }, u.key), 404);
    await expectStatus(del(`/api/v1/ui/annotation-sets/${set.id}/tags/${renamed.id}/`, u.key), 204);
    expect(await stats()).toMatchObject({ tags: [], annotated_images_count: 0 });
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/tags/${renamed.id}/`, u.key), 404);
  });

  it("counts each tag's images per set with SQLite's triggers, and the one-tag search reads that count", async () => {
    const { u, d, a, b, set, tagsOf, stats } = await world();
    const c = await insertImage(d.id);
    const other = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "T" }, u.key), 201);
    const train = await expectStatus(post(tagsOf(a.id), { name: "train" }, u.key), 201);
    await expectStatus(post(tagsOf(b.id), { name: "train" }, u.key), 201);
    await expectStatus(post(tagsOf(c.id), { name: "train" }, u.key), 201);
    await expectStatus(post(tagsOf(a.id), { name: "train" }, u.key), 200);
    const test = await expectStatus(post(tagsOf(c.id), { name: "test" }, u.key), 201);
    await expectStatus(post(`/api/v1/ui/annotation-sets/${other.id}/images/${a.id}/tags/`, { name: "train" }, u.key), 201);
    const perSetTag = (query: string) => datasetRows<{ set_id: number; tag_id: number; image_count: number }>(d.id, query, set.id, other.id);
    const counted = () => perSetTag("SELECT set_id, tag_id, image_count FROM set_tag_counts WHERE set_id IN (?, ?) ORDER BY set_id, tag_id");
    const recount = () =>
      perSetTag("SELECT set_id, tag_id, count(*) AS image_count FROM image_tags WHERE set_id IN (?, ?) GROUP BY 1, 2 ORDER BY 1, 2");
    expect(await counted()).toEqual([
      { set_id: set.id, tag_id: train.id, image_count: 3 },
      { set_id: set.id, tag_id: test.id, image_count: 1 },
      { set_id: other.id, tag_id: train.id, image_count: 1 },
    ].sort((x, y) => x.set_id - y.set_id || x.tag_id - y.tag_id));
    expect(await counted()).toEqual(await recount());
    const search = (q: string) => expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?sets=${set.id}&${q}`, u.key), 200);
    expect(await search("tags=train")).toMatchObject({ count: 3 });
    expect(await search("tags=nothing")).toMatchObject({ count: 0 });

    // A removal, a merge by rename (c had both tags), an image delete: the counts follow, rows at 0 go.
    await expectStatus(del(`${tagsOf(b.id)}${train.id}/`, u.key), 204);
    await expectStatus(put(`/api/v1/ui/annotation-sets/${set.id}/tags/${test.id}/`, { name: "train" }, u.key), 200);
    expect(await counted()).toEqual(await recount());
    expect(await search("tags=train")).toMatchObject({ count: 2 });
    expect((await stats()).tags).toEqual(["train"]);
    await expectStatus(del(`/api/v1/ui/images/${a.id}/`, u.key), 204);
    expect(await counted()).toEqual([{ set_id: set.id, tag_id: train.id, image_count: 1 }]);
    expect(await search("tags=train")).toMatchObject({ count: 1, results: [{ image: { id: c.id } }] });
    await expectStatus(del(`/api/v1/ui/annotation-sets/${set.id}/`, u.key), 204);
    expect(await counted()).toEqual([]);
  });

  it("404s an image of another dataset and another user's private set; 403s writes on a public one", async () => {
    const { u, d, a, set, tagsOf } = await world();
    const d2 = await createDataset(u);
    const foreign = await insertImage(d2.id);
    await expectError(post(tagsOf(foreign.id), { name: "x" }, u.key), 404);
    const t = await expectStatus(post(tagsOf(a.id), { name: "x" }, u.key), 201);
    const stranger = await createUser();
    await expectError(get(tagsOf(a.id), stranger.key), 404);
    await expectError(post(tagsOf(a.id), { name: "y" }, stranger.key), 404);
    await expectError(get(`/api/v1/ui/annotation-sets/${set.id}/tags/`, stranger.key), 404);
    await makePublic(u, d.id);
    await expectStatus(get(tagsOf(a.id), stranger.key), 200);
    await expectError(post(tagsOf(a.id), { name: "y" }, stranger.key), 403);
    await expectError(del(`${tagsOf(a.id)}${t.id}/`, stranger.key), 403);
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/tags/${t.id}/`, { name: "z" }, stranger.key), 403, /Only dataset owner/);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/tags/${t.id}/`, stranger.key), 403);
  });
});
