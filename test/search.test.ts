import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

/** Five images, two sets: A (detection) and B (classification). */
async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const img: { id: number }[] = [];
  for (const name of ["cat_1.jpg", "cat_2.jpg", "dog_1.jpg", "dog_2.jpg", "empty.jpg"]) img.push(await insertImage(d.id, { name, width: 100, height: 100 }));
  const mk = (name: string, task: string) => expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: task, dataset_id: d.id, name }, u.key), 201);
  const A = await mk("A", "Object detection");
  const B = await mk("B", "Image classification");
  const box = (x: number, classes: string[]) => ({ coordinates: [{ x, y: x }, { x: x + 5, y: x + 5 }], classes: classes.map((name) => ({ name })) });
  const save = (set: number, i: number, body: unknown) => expectStatus(post(`/api/dataset/${d.id}/annotation-set/${set}/image/${img[i].id}/save-annotation/`, body, u.key), 200);
  const tag = (set: number, i: number, name: string) => expectStatus(post(`/api/v1/ui/annotation-sets/${set}/images/${img[i].id}/tags/`, { name }, u.key), 201);
  await save(A.id, 0, { objects: [box(1, ["Cat"]), box(2, ["Person"])] });
  await save(A.id, 1, { objects: [box(1, ["Cat"])] });
  await save(A.id, 2, { objects: [box(1, ["Dog"]), box(2, ["Person"])] });
  await save(B.id, 1, { classes: [{ name: "Person" }] });
  await save(B.id, 3, { classes: [{ name: "Dog" }] });
  await tag(A.id, 0, "train");
  await tag(A.id, 2, "train");
  await tag(A.id, 1, "test");
  const search = async (q: string) => {
    const body = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?${q}`, u.key), 200);
    return { ...body, ids: body.results.map((r: any) => img.findIndex((x) => x.id === r.image.id)) };
  };
  return { u, d, img, A, B, search };
}

describe("search", () => {
  it("filters by classes (AND within one set), tags, negations, tasks, names and sets", async () => {
    const { A, B, search } = await world();
    expect((await search("classes=cat")).ids).toEqual([0, 1]);
    expect((await search("classes=cat,person")).ids).toEqual([0]);
    // Cat is in set A, Person in set B for image 1: never both within one set.
    expect((await search(`classes=cat,person&sets=${A.id},${B.id}`)).ids).toEqual([0]);
    expect((await search("classes=person")).ids).toEqual([0, 1, 2]);
    expect((await search(`classes=person&sets=${B.id}`)).ids).toEqual([1]);
    expect((await search("tags=TRAIN")).ids).toEqual([0, 2]);
    expect((await search("tags=train&classes=dog")).ids).toEqual([2]);
    expect((await search(`classes_not=person&sets=${A.id}`)).ids).toEqual([1]);
    // no sets: images with no annotation row at all pass negative filters (Remo's RIGHT JOIN)
    expect((await search("tags_not=train")).ids).toEqual([1, 3, 4]);
    expect((await search("tasks=image-classification")).ids).toEqual([1, 3]);
    expect((await search("tasks_not=Image classification&classes=dog")).ids).toEqual([2]);
    expect((await search("image_name=dog")).ids).toEqual([2, 3]);
    expect((await search("image_name=_,2")).ids).toEqual([1, 3]);
    expect((await search("classes=Unicorn")).ids).toEqual([]);
    const person = await search("classes=person");
    expect(person.count).toBe(3);
    const item = person.results[0].image;
    expect(item.annotations).toEqual([
      { annotation_set_id: A.id, coordinates: [[{ x: 1, y: 1 }, { x: 6, y: 6 }], [{ x: 2, y: 2 }, { x: 7, y: 7 }]], classes: ["Cat", "Person"], object_classes: [["Cat"], ["Person"]], tags: ["train"] },
    ]);
  });

  it("pages by image id with next and previous links", async () => {
    const { search } = await world();
    const p1 = await search("classes_not=Nothing&limit=2");
    expect(p1.ids).toEqual([0, 1]);
    expect(p1.count).toBe(5);
    expect(p1.previous).toBeNull();
    const url = new URL("http://x" + p1.next);
    expect(url.searchParams.get("direction")).toBe("next");
    const p2 = await search(url.search.slice(1));
    expect(p2.ids).toEqual([2, 3]);
    const back = await search(new URL("http://x" + p2.previous).search.slice(1));
    expect(back.ids).toEqual([0, 1]);
    const p3 = await search(new URL("http://x" + p2.next).search.slice(1));
    expect(p3.ids).toEqual([4]);
    expect(p3.next).toBeNull();
  });

  it("rejects a non-integer set id, an unknown task and a bad cursor", async () => {
    const { u, d } = await world();
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Cat&sets=1,abc`, u.key), 400, /sets/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?tasks=Counting`, u.key), 400, /tasks/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Cat&image_id=x`, u.key), 400, /image_id/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Cat&direction=sideways`, u.key), 400, /direction/);
  });

  it("global search returns one result per matching (image, set) over visible datasets", async () => {
    const { u, d, img, A, B } = await world();
    const body = await expectStatus(get(`/api/v1/ui/search/?sets=${A.id},${B.id}&classes=Person`, u.key), 200);
    expect(body.results.map((r: any) => [r.image_id, r.annotation_set_id])).toEqual([
      [img[0].id, A.id],
      [img[1].id, B.id],
      [img[2].id, A.id],
    ]);
    expect(body.count).toBe(3);
    expect(body.results[0]).toMatchObject({ dataset_id: d.id, name: "cat_1.jpg", dimensions: [100, 100] });
    await expectError(get(`/api/v1/ui/search/?classes=Person`, u.key), 400, /sets/);
    await expectError(get(`/api/v1/ui/search/?sets=abc`, u.key), 400, /sets/);
    const other = await createUser();
    expect((await expectStatus(get(`/api/v1/ui/search/?sets=${A.id}&classes=Person`, other.key), 200)).results).toEqual([]);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Person`, other.key), 404);
    await makePublic(u, d.id);
    expect((await expectStatus(get(`/api/v1/ui/search/?sets=${A.id}&classes=Person`, other.key), 200)).count).toBe(2);
    expect((await expectStatus(get(`/api/v1/ui/datasets/${d.id}/contents/?classes=Person`, other.key), 200)).count).toBe(3);
  });
});

describe("search: more", () => {
  it("keeps another user's private sets out of the global search, and pages it with next", async () => {
    const { u, A } = await world();
    const stranger = await createUser();
    const body = await expectStatus(get(`/api/v1/ui/search/?sets=${A.id}&classes=Cat`, stranger.key), 200);
    expect(body).toEqual({ count: 0, next: null, previous: null, results: [] });
    const p1 = await expectStatus(get(`/api/v1/ui/search/?sets=${A.id}&classes_not=Nothing&limit=2`, u.key), 200);
    expect(p1.results).toHaveLength(2);
    const p2 = await expectStatus(get(p1.next, u.key), 200);
    expect(p2.results.map((r: any) => r.image_id).every((id: number) => id > p1.results[1].image_id)).toBe(true);
    expect(p2.next).toBeNull();
  });

  it("treats LIKE wildcards in image_name literally", async () => {
    const { search } = await world();
    expect((await search("image_name=%")).ids).toEqual([]);
    expect((await search("image_name=_1")).ids).toEqual([0, 2]);
  });
});
