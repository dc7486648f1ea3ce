import { describe, expect, it } from "vitest";
import { del, expectError, expectStatus, get, post, put } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic, unique } from "./helpers/factories";

async function world() {
  const u = await createUser();
  const d = await createDataset(u);
  const img = await insertImage(d.id, { width: 100, height: 100 });
  const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S", classes: ["Car", "Auto", "Dog"] }, u.key), 201);
  const ids = Object.fromEntries(set.classes.map((c: any) => [c.name, c.id]));
  const save = (objects: { cls: string[]; x: number }[]) =>
    expectStatus(
      post(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`, {
        objects: objects.map((o) => ({ coordinates: [{ x: o.x, y: o.x }, { x: o.x + 5, y: o.x + 5 }], classes: o.cls.map((name) => ({ name })) })),
      }, u.key),
      200,
    );
  const stats = async () => (await expectStatus(get(`/api/v1/ui/datasets/${d.id}/annotation-sets/`, u.key), 200)).results[0].statistics;
  const objects = async () =>
    (await expectStatus(get(`/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/annotation/`, u.key), 200)).annotation_info.map((o: any) =>
      o.classes.map((c: any) => c.name),
    );
  return { u, d, img, set, ids, save, stats, objects };
}

describe("classes", () => {
  it("get-or-creates common classes (201 new, 200 existing), normalised, with autocomplete", async () => {
    const u = await createUser();
    const stem = `Zq${unique()}`;
    const a = await expectStatus(post("/api/common-class/", { name: `  ${stem.toUpperCase()} hand ` }, u.key), 201);
    expect(a.name).toBe(`${stem.charAt(0).toUpperCase()}${stem.slice(1).toLowerCase()} hand`);
    const b = await expectStatus(post("/api/common-class/", { name: a.name.toLowerCase() }, u.key), 200);
    expect(b).toEqual(a);
    const list = await expectStatus(get(`/api/common-class/?autocomplete=${stem.toLowerCase()}`, u.key), 200);
    expect(list.results).toEqual([a]);
    await expectError(post("/api/common-class/", { name: "  " }, u.key), 400, /empty/);
    await expectError(post("/api/common-class/", { name: ["x"] }, u.key), 400, /name/);
  });

  it("adds a class to a set (201, then 200) and rejects an empty name", async () => {
    const { u, set } = await world();
    const c = await expectStatus(post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: "wheel" }, u.key), 201);
    expect(c.name).toBe("Wheel");
    expect(await expectStatus(post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: "WHEEL" }, u.key), 200)).toEqual(c);
    await expectError(post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: "" }, u.key), 400, /Class name should not be empty/);
  });

  it("renames a class by merging into an existing one; objects follow and counters stay right", async () => {
    const { u, set, ids, save, stats, objects } = await world();
    await save([{ cls: ["Car"], x: 1 }, { cls: ["Auto"], x: 2 }, { cls: ["Car", "Auto"], x: 3 }]);
    const r = await expectStatus(put(`/api/v1/ui/annotation-sets/${set.id}/classes/${ids.Auto}/`, { name: "car" }, u.key), 200);
    expect(r).toEqual({ id: ids.Car, name: "Car" });
    expect(await objects()).toEqual([["Car"], ["Car"], ["Car"]]);
    const s = await stats();
    expect(s.all_classes).toEqual([{ name: "Car", count: 3 }, { name: "Dog", count: 0 }]);
    expect(s.total_annotation_objects).toBe(3);
    // plain rename to a new name
    const n = await expectStatus(put(`/api/v1/ui/annotation-sets/${set.id}/classes/${ids.Car}/`, { name: "Vehicle" }, u.key), 200);
    expect(n.name).toBe("Vehicle");
    expect((await stats()).all_classes[0]).toEqual({ name: "Vehicle", count: 3 });
  });

  it("deletes a class: objects lose it, and an object left with none is removed", async () => {
    const { u, set, ids, save, stats, objects } = await world();
    await save([{ cls: ["Car"], x: 1 }, { cls: ["Car", "Dog"], x: 2 }, { cls: ["Dog"], x: 3 }]);
    await expectStatus(del(`/api/v1/ui/annotation-sets/${set.id}/classes/${ids.Car}/`, u.key), 204);
    expect(await objects()).toEqual([["Dog"], ["Dog"]]);
    const s = await stats();
    expect(s).toMatchObject({ total_annotation_objects: 2, total_classes: 2, annotated_images_count: 1 });
    expect(s.all_classes).toEqual([{ name: "Dog", count: 2 }, { name: "Auto", count: 0 }]);
    await expectStatus(del(`/api/v1/ui/annotation-sets/${set.id}/classes/${ids.Dog}/`, u.key), 204);
    expect(await stats()).toMatchObject({ total_annotation_objects: 0, annotated_images_count: 0 });
  });

  it("404s a class id from another set, and keeps writes to the owner", async () => {
    const { u, d, set } = await world();
    const other = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "T", classes: ["Only-here"] }, u.key), 201);
    const foreignId = other.classes[0].id;
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/classes/${foreignId}/`, { name: "X" }, u.key), 404);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/classes/${foreignId}/`, u.key), 404);
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/classes/abc/`, { name: "X" }, u.key), 400, /class_id/);
    const stranger = await createUser();
    await expectError(post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: "x" }, stranger.key), 404);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/classes/${set.classes[0].id}/`, stranger.key), 404);
    await makePublic(u, d.id);
    await expectError(post(`/api/v1/ui/annotation-sets/${set.id}/classes/`, { name: "x" }, stranger.key), 403);
    await expectError(put(`/api/v1/ui/annotation-sets/${set.id}/classes/${set.classes[0].id}/`, { name: "x" }, stranger.key), 403);
    await expectError(del(`/api/v1/ui/annotation-sets/${set.id}/classes/${set.classes[0].id}/`, stranger.key), 403);
  });
});

describe("common classes: autocomplete input", () => {
  it("treats % and _ in the prefix literally and pages the list", async () => {
    const u = await createUser();
    expect((await expectStatus(get(`/api/common-class/?autocomplete=${encodeURIComponent("%")}`, u.key), 200)).results).toEqual([]);
    await expectError(get(`/api/common-class/?limit=abc`, u.key), 400, /limit/);
  });
});
