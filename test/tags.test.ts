import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, post, put } from "./helpers/api";
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
