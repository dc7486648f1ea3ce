import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, post, put } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

async function newSet(key: string, datasetId: number, name = "Set", classes: unknown = ["car", " Person ", "car", ""], task = "object-detection") {
  return expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: task, classes, dataset_id: datasetId, name }, key), 201);
}

describe("annotation sets", () => {
  it("creates a set as the SDK does, with classes de-duplicated and capitalised", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const s = await newSet(u.key, d.id);
    expect(s).toMatchObject({ name: "Set", task: "Object detection", dataset_id: d.id });
    expect(s.classes.map((c: any) => c.name)).toEqual(["Car", "Person"]);
    const got = await expectStatus(get(`/api/v1/ui/annotation-sets/${s.id}/`, u.key), 200);
    expect(got).toMatchObject({ id: s.id, name: "Set", task: { name: "Object detection", type: "object_detection" }, dataset: { id: d.id } });
    expect(got.classes.map((c: any) => c.name)).toEqual(["Car", "Person"]);
    const legacy = await expectStatus(get(`/api/annotation-set/${s.id}/`, u.key), 200);
    expect(legacy.classes.map((c: any) => c.name)).toEqual(["Car", "Person"]);
  });

  it("rejects an unknown task, a duplicate name, classes that are not a list, and a missing name", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Counting sheep", dataset_id: d.id, name: "x" }, u.key), 400, /not recognized/);
    await newSet(u.key, d.id, "Dup");
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: " Dup " }, u.key), 400, /exists in current dataset/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "y", classes: "car" }, u.key), 400, /classes/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "y", classes: [1] }, u.key), 400, /classes/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id }, u.key), 400, /name/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "   " }, u.key), 400, /empty/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: "abc", name: "z" }, u.key), 400, /dataset_id/);
    await expectError(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: 99999999, name: "z" }, u.key), 404);
    await expectError(get(`/api/v1/ui/annotation-sets/abc/`, u.key), 400, /id/);
    await expectError(get(`/api/v1/ui/annotation-sets/99999999/`, u.key), 404);
  });

  it("renames and deletes a set; a rename onto a taken name is Remo's 400", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const a = await newSet(u.key, d.id, "A");
    await newSet(u.key, d.id, "B");
    expect(await expectStatus(put(`/api/v1/ui/annotation-sets/${a.id}/`, { name: " A2 " }, u.key), 200)).toEqual({ id: a.id, name: "A2" });
    await expectError(put(`/api/v1/ui/annotation-sets/${a.id}/`, { name: "B" }, u.key), 400, /exists/);
    await expectError(put(`/api/v1/ui/annotation-sets/${a.id}/`, { name: 5 }, u.key), 400, /name/);
    await expectError(put(`/api/v1/ui/annotation-sets/${a.id}/`, {}, u.key), 400, /name/);
    const img = await insertImage(d.id);
    await expectStatus(post(`/api/dataset/${d.id}/annotation-set/${a.id}/image/${img.id}/save-annotation/`, { objects: [{ coordinates: [{ x: 1, y: 1 }, { x: 5, y: 5 }], classes: ["Car"] }] }, u.key), 200);
    await expectStatus(post(`/api/v1/ui/annotation-sets/${a.id}/images/${img.id}/tags/`, { name: "t" }, u.key), 201);
    await expectStatus(del(`/api/v1/ui/annotation-sets/${a.id}/`, u.key), 204);
    await expectError(get(`/api/v1/ui/annotation-sets/${a.id}/`, u.key), 404);
    for (const table of ["annotations", "annotation_objects", "annotation_classes", "image_tags", "annotation_set_classes"]) {
      const r = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE set_id = ?`).bind(a.id).first<{ n: number }>();
      expect(r!.n, table).toBe(0);
    }
  });

  it("hides another user's private set (404) and refuses writes to a public one (403)", async () => {
    const owner = await createUser();
    const other = await createUser();
    const d = await createDataset(owner);
    const s = await newSet(owner.key, d.id);
    const body = { annotation_task: "Object detection", dataset_id: d.id, name: "Mine" };
    expect((await expectError(get(`/api/v1/ui/annotation-sets/${s.id}/`, other.key), 404)).detail).toBe("Not found.");
    await expectError(post("/api/v1/ui/annotation-sets/", body, other.key), 404);
    await expectError(put(`/api/v1/ui/annotation-sets/${s.id}/`, { name: "x" }, other.key), 404);
    await expectError(del(`/api/v1/ui/annotation-sets/${s.id}/`, other.key), 404);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, other.key), 404);
    await makePublic(owner, d.id);
    await expectStatus(get(`/api/v1/ui/annotation-sets/${s.id}/`, other.key), 200);
    await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, other.key), 200);
    await expectError(post("/api/v1/ui/annotation-sets/", body, other.key), 403, /Only dataset owner/);
    await expectError(put(`/api/v1/ui/annotation-sets/${s.id}/`, { name: "x" }, other.key), 403);
    await expectError(del(`/api/v1/ui/annotation-sets/${s.id}/`, other.key), 403);
    await expectError(post("/api/annotation-set/", { name: "L", task: 1, dataset: d.id }, other.key), 403);
  });

  it("creates through the deprecated route, linking only existing classes", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    await newSet(u.key, d.id, "Seed", ["Zebra"]);
    const s = await expectStatus(post("/api/annotation-set/", { name: "L", task: 3, dataset: d.id, classes: [{ name: "zebra" }, { name: "Never-seen-class-xyz" }] }, u.key), 201);
    expect(s.task.type).toBe("image_classification");
    expect(s.classes.map((c: any) => c.name)).toEqual(["Zebra"]);
  });

  it("lists sets with statistics that follow every write", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const a = await insertImage(d.id, { width: 100, height: 100 });
    const b = await insertImage(d.id, { width: 100, height: 100 });
    await insertImage(d.id);
    const s = await newSet(u.key, d.id, "S", ["car"]);
    const stats = async () => (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0];
    let item = await stats();
    expect(item).toMatchObject({ id: s.id, total_images: 3, is_completed: false, task: { name: "Object detection" } });
    expect(item.statistics).toEqual({
      annotated_images_count: 0, done_count: 0, skipped_count: 0, todo_count: 3, top3_classes: [{ name: "Car", count: 0 }],
      all_classes: [{ name: "Car", count: 0 }], tags: [], total_classes: 1, total_annotation_objects: 0, images_without_annotations: 3,
    });
    const save = (img: number, objects: unknown[]) =>
      expectStatus(post(`/api/dataset/${d.id}/annotation-set/${s.id}/image/${img}/save-annotation/`, { objects, status: "done" }, u.key), 200);
    const obj = (cls: string[], x: number) => ({ name: "OBJ", coordinates: [{ x, y: x }, { x: x + 5, y: x + 5 }], classes: cls.map((name) => ({ name, lower: name.toLowerCase(), questionable: false })) });
    await save(a.id, [obj(["Car"], 1), obj(["dog"], 2), obj(["dog", "car"], 3)]);
    await save(b.id, [obj(["dog"], 1)]);
    await expectStatus(post(`/api/v1/ui/annotation-sets/${s.id}/images/${b.id}/tags/`, { name: "Train" }, u.key), 201);
    item = await stats();
    expect(item.statistics).toMatchObject({
      annotated_images_count: 2, done_count: 2, todo_count: 1, total_annotation_objects: 4, total_classes: 2, tags: ["train"], images_without_annotations: 1,
      all_classes: [{ name: "Dog", count: 3 }, { name: "Car", count: 2 }],
    });
    // replace: image a now has one object
    await save(a.id, [obj(["Car"], 10)]);
    await expectStatus(post(`/api/v1/ui/annotation-sets/${s.id}/images/${a.id}/status/`, { status: "skipped" }, u.key), 200);
    item = await stats();
    expect(item.statistics).toMatchObject({ annotated_images_count: 2, done_count: 1, skipped_count: 1, total_annotation_objects: 2, all_classes: [{ name: "Car", count: 1 }, { name: "Dog", count: 1 }] });
    const ins = await expectStatus(get(`/api/v1/ui/annotation-sets/${s.id}/insights/?split_by_tags=train`, u.key), 200);
    expect(ins.total_annotation_objects).toBe(2);
    expect(ins.results).toContainEqual({ record_type: "tag", tag: { name: "train", total_images: 1, total_annotation_objects: 1 } });
    expect(ins.results).toContainEqual({ record_type: "class", class: { name: "Dog", objects_per_image: 1, total_annotation_objects: 1, total_images: 1 }, split_by_tags: { train: 1 } });
  });
});

describe("annotation sets: more bad input", () => {
  it("pages the set list and rejects bad paging, an unknown legacy task and another user's insights", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    for (const name of ["A", "B", "C"]) await newSet(u.key, d.id, name);
    const p1 = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/?limit=2`, u.key), 200);
    expect(p1.count).toBe(3);
    expect(p1.results.map((s: any) => s.name)).toEqual(["A", "B"]);
    const p2 = await expectStatus(get(p1.next, u.key), 200);
    expect(p2.results.map((s: any) => s.name)).toEqual(["C"]);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/?limit=0`, u.key), 400, /limit/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/?offset=-1`, u.key), 400, /offset/);
    await expectError(post("/api/annotation-set/", { name: "L", task: 9, dataset: d.id }, u.key), 400, /not recognized/);
    await expectError(post("/api/annotation-set/", { name: "L", task: 1, dataset: d.id, classes: ["Car"] }, u.key), 400, /classes/);
    const other = await createUser();
    await expectError(get(`/api/v1/ui/annotation-sets/${p1.results[0].id}/insights/`, other.key), 404);
    await expectError(get(`/api/annotation-set/${p1.results[0].id}/`, other.key), 404);
  });

  it("accepts every spelling of a task Remo accepts", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const names = ["object_detection", "OBJECT-DETECTION", "Instance segmentation", "image  classification"];
    const tasks = [];
    for (const [i, t] of names.entries()) tasks.push((await newSet(u.key, d.id, `S${i}`, [], t)).task);
    expect(tasks).toEqual(["Object detection", "Object detection", "Instance segmentation", "Image classification"]);
  });
});
