import { describe, expect, it } from "vitest";
import { call, del, expectError, expectStatus, get, post, put } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

async function world(task = "Object detection") {
  const u = await createUser();
  const d = await createDataset(u);
  const img = await insertImage(d.id, { width: 200, height: 100 });
  const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: task, dataset_id: d.id, name: "S", classes: ["Car"] }, u.key), 201);
  const base = `/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}`;
  return { u, d, img, set, base };
}

const sdkObject = (k: number, cls: string, pts: { x: number; y: number }[]) => ({
  name: `OBJ ${k}`,
  coordinates: pts,
  auto_created: false,
  position_number: k,
  classes: [{ name: cls, lower: cls.toLowerCase(), questionable: false }],
  objectId: k,
  isHidden: false,
});

describe("per-image annotations", () => {
  it("supports the SDK's add_annotations_to_image: read, then re-post old plus new objects", async () => {
    const { u, base, set } = await world();
    const empty = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    expect(empty).toEqual({ error: false, annotation_info: [], status: "not_annotated" });
    const first = await expectStatus(post(`${base}/save-annotation/`, { objects: [sdkObject(1, "car", [{ x: 1.9, y: 2 }, { x: 50, y: 60 }])], status: "done" }, u.key), 200);
    expect(first).toMatchObject({ image: expect.any(Number), annotation_set: set.id, status: "done" });
    const read = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    expect(read.annotation_info).toEqual([
      { name: "OBJ 1", coordinates: [{ x: 1, y: 2 }, { x: 50, y: 60 }], auto_created: false, position_number: 1, classes: [{ name: "Car", lower: "car", questionable: false }] },
    ]);
    const objects = [
      ...read.annotation_info,
      sdkObject(2, "Wheel", [{ x: 10, y: 10 }, { x: 20, y: 10 }, { x: 15, y: 30 }]),
      sdkObject(3, "person", [{ x: 1, y: 2 }, { x: 50, y: 60 }]),
    ];
    await expectStatus(post(`${base}/save-annotation/`, { objects, status: "done" }, u.key), 200);
    const after = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    // identical coordinates merged, positions renumbered 1..n, polygon kept as 3 points
    expect(after.annotation_info.map((o: any) => [o.position_number, o.coordinates.length, o.classes.map((c: any) => c.name)])).toEqual([
      [1, 2, ["Car", "Person"]],
      [2, 3, ["Wheel"]],
    ]);
    const detail = await expectStatus(get(`/api/v1/ui/annotation-sets/${set.id}/`, u.key), 200);
    expect(detail.classes.map((c: any) => c.name)).toEqual(["Car", "Person", "Wheel"]);
  });

  it("with skip_new_classes keeps only the set's classes", async () => {
    const { u, base, set } = await world();
    await expectStatus(post(`${base}/save-annotation/`, { objects: [sdkObject(1, "Dog", [{ x: 1, y: 1 }, { x: 5, y: 5 }]), sdkObject(2, "car", [{ x: 2, y: 2 }, { x: 5, y: 5 }])], skip_new_classes: true }, u.key), 200);
    const after = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    expect(after.annotation_info.map((o: any) => o.classes.map((c: any) => c.name))).toEqual([[], ["Car"]]);
    const detail = await expectStatus(get(`/api/v1/ui/annotation-sets/${set.id}/`, u.key), 200);
    expect(detail.classes.map((c: any) => c.name)).toEqual(["Car"]);
  });

  it("stores image-classification classes and reads them back with a top-level `lower`", async () => {
    const { u, base } = await world("image_classification");
    await expectStatus(post(`${base}/save-annotation/`, { classes: [{ name: "cat", lower: "cat", questionable: false }, { name: "Dog", score: 0.5 }], status: "done" }, u.key), 200);
    const r = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    expect(r.annotation_info).toEqual([
      { name: "Cat", lower: "cat", questionable: false },
      { name: "Dog", lower: "dog", questionable: false, score: 0.5 },
    ]);
    expect(r.status).toBe("done");
  });

  it("rejects NaN, negative coordinates, a polygon of two points, a single point and non-numbers; clamps past the far edge", async () => {
    const { u, base } = await world();
    const save = (objects: unknown) => post(`${base}/save-annotation/`, { objects }, u.key);
    const raw = (text: string) => call("POST", `${base}/save-annotation/`, { key: u.key, body: text, headers: { "content-type": "application/json" } });
    await expectError(raw(`{"objects":[{"coordinates":[{"x":NaN,"y":1},{"x":2,"y":2}]}]}`), 400);
    await expectError(save([{ coordinates: [{ x: "NaN", y: 1 }, { x: 2, y: 2 }] }]), 400, /coordinates/);
    await expectError(save([{ coordinates: [{ x: -1, y: 1 }, { x: 2, y: 2 }] }]), 400, /outside/);
    await expectError(save([{ kind: "polygon", coordinates: [{ x: 1, y: 1 }, { x: 2, y: 2 }] }]), 400, /polygon/);
    await expectError(save([{ coordinates: [{ x: 1, y: 1 }] }]), 400, /2 points/);
    await expectError(save("boxes"), 400, /objects/);
    await expectError(post(`${base}/save-annotation/`, { classes: "Car" }, u.key), 400, /classes/);
    await expectStatus(save([{ coordinates: [{ x: 150, y: 50 }, { x: 500, y: 900 }], classes: ["car"] }]), 200);
    const r = await expectStatus(get(`${base}/annotation/`, u.key), 200);
    expect(r.annotation_info[0].coordinates).toEqual([{ x: 150, y: 50 }, { x: 200, y: 100 }]);
  });

  it("404s save-annotation on an image of another dataset, a set of another dataset, and bad ids", async () => {
    const { u, d, set, img } = await world();
    const d2 = await createDataset(u);
    const foreign = await insertImage(d2.id);
    const body = { objects: [] };
    await expectError(post(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${foreign.id}/save-annotation/`, body, u.key), 404);
    await expectError(post(`/api/dataset/${d2.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`, body, u.key), 404);
    await expectError(post(`/api/dataset/${d.id}/annotation-set/x/image/${img.id}/save-annotation/`, body, u.key), 400, /set/);
    await expectError(get(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${foreign.id}/annotation/`, u.key), 404);
  });

  it("keeps reads open and writes closed to other users: 404 private, 403 public", async () => {
    const { u, d, set, img, base } = await world();
    const other = await createUser();
    const body = { objects: [sdkObject(1, "car", [{ x: 1, y: 1 }, { x: 5, y: 5 }])] };
    const v1 = `/api/v1/ui/annotation-sets/${set.id}/images/${img.id}`;
    await expectError(get(`${base}/annotation/`, other.key), 404);
    await expectError(post(`${base}/save-annotation/`, body, other.key), 404);
    await expectError(post(`${v1}/status/`, { status: "done" }, other.key), 404);
    await expectError(put(`${v1}/annotations/`, body, other.key), 404);
    await expectError(del(`${v1}/annotations/`, other.key), 404);
    await makePublic(u, d.id);
    await expectStatus(get(`${base}/annotation/`, other.key), 200);
    await expectError(post(`${base}/save-annotation/`, body, other.key), 403);
    await expectError(post(`${v1}/status/`, { status: "done" }, other.key), 403);
    await expectError(put(`${v1}/annotations/`, body, other.key), 403);
    await expectError(del(`${v1}/annotations/`, other.key), 403);
  });

  it("sets status (unknown values become not_annotated), replaces with native PUT and clears with DELETE", async () => {
    const { u, d, set, img } = await world();
    const v1 = `/api/v1/ui/annotation-sets/${set.id}/images/${img.id}`;
    expect(await expectStatus(post(`${v1}/status/`, { status: "skipped" }, u.key), 200)).toEqual({ status: "skipped" });
    expect(await expectStatus(post(`${v1}/status/`, { status: "whatever" }, u.key), 200)).toEqual({ status: "not_annotated" });
    expect(await expectStatus(post(`${v1}/status/`, { status: "done" }, u.key), 200)).toEqual({ status: "done" });
    const saved = await expectStatus(put(`${v1}/annotations/`, { objects: [sdkObject(1, "car", [{ x: 1, y: 1 }, { x: 5, y: 5 }])] }, u.key), 200);
    expect(saved.annotation_info).toHaveLength(1);
    const stats = async () => (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0].statistics;
    expect(await stats()).toMatchObject({ total_annotation_objects: 1, annotated_images_count: 1, done_count: 1 });
    await expectStatus(del(`${v1}/annotations/`, u.key), 204);
    expect(await stats()).toMatchObject({ total_annotation_objects: 0, annotated_images_count: 0, done_count: 1, all_classes: [{ name: "Car", count: 0 }] });
    const r = await expectStatus(get(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/annotation/`, u.key), 200);
    expect(r).toEqual({ error: false, annotation_info: [], status: "done" });
  });
});
