import { datasetD1, insertImagesWhereTheyLive } from "./helpers/dataset-rows";
import { describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import type { ImportRecord } from "../src/formats/types";
import { applyImport, newImportMemo } from "../src/services/annotations/import";
import { createAnnotationSet } from "../src/services/annotations/sets";
import { createDataset, createUser, insertImage } from "./helpers/factories";

/** The services run on the dataset's own database (D1, or its DatasetStore: test/helpers/dataset-rows.ts). */
const db = (datasetId: number) => createDb(datasetD1(datasetId));

async function setup(names: string[], task: "object_detection" | "image_classification" = "object_detection") {
  const u = await createUser();
  const d = await createDataset(u);
  const imgs = [];
  for (const name of names) imgs.push(await insertImage(d.id, { name, width: 1000, height: 800 }));
  const set = await createAnnotationSet(db(d.id), { datasetId: d.id, name: "Set", task, classes: ["car"] });
  return { u, d, imgs, set };
}

const box = (fileName: string, cls: string[], coordinates: number[], extra: Partial<ImportRecord> = {}): ImportRecord => ({
  fileName,
  match: "basename",
  objects: [{ classes: cls, kind: "bbox", coordinates }],
  classes: [],
  tags: [],
  ...extra,
});

async function counters(setId: number) {
  const set = await datasetD1({ setId }).prepare("SELECT annotated_images, done_count, skipped_count, total_objects FROM annotation_sets WHERE id = ?").bind(setId).first();
  const classes = await datasetD1({ setId }).prepare(
    "SELECT c.name, sc.object_count, sc.image_count FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ? ORDER BY sc.position",
  )
    .bind(setId)
    .all();
  return { set, classes: classes.results };
}

describe("applyImport", () => {
  it("matches base names and extension probes, merges same coordinates, and keeps counters right", async () => {
    const { d, set, imgs } = await setup(["a.jpg", "b.png", "c.JPEG"]);
    const records: ImportRecord[] = [
      box("/abs/path/a.jpg", ["person"], [10, 20, 110, 220]),
      box("C:\\x\\a.jpg", ["  PERSON  ", "human body"], [10, 20, 110, 220]),
      box("a.jpg", ["Car"], [0.1, 0.1, 0.5, 0.5], { objects: [{ classes: ["Car"], kind: "bbox", coordinates: [0.1, 0.1, 0.5, 0.5], relative: true }] }),
      box("b", ["Car"], [5, 5, 50, 50], { tags: [" Train "] }),
      box("c.JPEG", ["Car"], [1, 1, 2, 2]),
      box("nope.jpg", ["Car"], [1, 1, 2, 2]),
    ];
    const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, records);
    expect(r).toEqual({ imagesMatched: 3, objectsAdded: 4, missing: ["nope.jpg"], skipped: [], skippedCount: 0, baseNameMatches: [], baseNameMatchCount: 0 });
    const objs = await datasetD1(d.id).prepare("SELECT image_id, name, position, coordinates FROM annotation_objects WHERE set_id = ? ORDER BY id").bind(set.id).all();
    expect(objs.results).toEqual([
      { image_id: imgs[0].id, name: "OBJ 1", position: 1, coordinates: "[10,20,110,220]" },
      { image_id: imgs[0].id, name: "OBJ 2", position: 2, coordinates: "[100,80,500,400]" },
      { image_id: imgs[1].id, name: "OBJ 1", position: 1, coordinates: "[5,5,50,50]" },
      { image_id: imgs[2].id, name: "OBJ 1", position: 1, coordinates: "[1,1,2,2]" },
    ]);
    const before = await counters(set.id);
    expect(before.set).toEqual({ annotated_images: 3, done_count: 3, skipped_count: 0, total_objects: 4 });
    expect(before.classes).toEqual([
      { name: "Car", object_count: 3, image_count: 3 },
      { name: "Person", object_count: 1, image_count: 1 },
      { name: "Human body", object_count: 1, image_count: 1 },
    ]);
    const tag = await datasetD1(d.id).prepare("SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.set_id = ?").bind(set.id).all();
    expect(tag.results).toEqual([{ name: "train" }]);

    // Applying the same records again adds nothing and moves no counter.
    const again = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, records);
    expect(again.objectsAdded).toBe(0);
    expect(await counters(set.id)).toEqual(before);
    const links = await datasetD1(d.id).prepare("SELECT COUNT(*) AS n FROM annotation_classes WHERE set_id = ?").bind(set.id).first<{ n: number }>();
    expect(links!.n).toBe(5);

    // A later import that names an existing box (a class merged into it) and a new box of the same image in one
    // call: the new one numbers on from the highest position, and each gets its class once.
    const more = [box("a.jpg", ["Truck"], [10, 20, 110, 220]), box("a.jpg", ["Truck"], [300, 300, 400, 400])];
    const third = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, more);
    expect(third.objectsAdded).toBe(1);
    const trucks = await datasetD1(d.id)
      .prepare(
        "SELECT o.name, o.coordinates FROM annotation_classes ac JOIN annotation_objects o ON o.id = ac.object_id JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ? AND c.name = 'Truck' ORDER BY o.id",
      )
      .bind(set.id)
      .all();
    expect(trucks.results).toEqual([
      { name: "OBJ 1", coordinates: "[10,20,110,220]" },
      { name: "OBJ 3", coordinates: "[300,300,400,400]" },
    ]);
    expect((await counters(set.id)).classes).toContainEqual({ name: "Truck", object_count: 2, image_count: 1 });
    expect((await counters(set.id)).set).toEqual({ annotated_images: 3, done_count: 3, skipped_count: 0, total_objects: 5 });
  });

  it("with skipNewClasses drops unknown classes and objects left with none", async () => {
    const { d, set } = await setup(["a.jpg"]);
    const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: true }, [
      box("a.jpg", ["Dog"], [1, 1, 5, 5]),
      box("a.jpg", ["Dog", "car"], [2, 2, 6, 6]),
    ]);
    expect(r.objectsAdded).toBe(1);
    const c = await counters(set.id);
    expect(c.classes).toEqual([{ name: "Car", object_count: 1, image_count: 1 }]);
    expect(c.set).toMatchObject({ total_objects: 1, annotated_images: 1 });
  });

  it("drops NaN and malformed coordinates and clamps boxes to the image", async () => {
    const { d, set } = await setup(["a.jpg"]);
    const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, [
      box("a.jpg", ["car"], [Number.NaN, 1, 5, 5]),
      box("a.jpg", ["car"], [1, 2, 3]),
      box("a.jpg", ["car"], [-5, -5, 5000, 5000]),
      { fileName: "a.jpg", match: "basename", classes: [], tags: [], objects: [{ classes: ["car"], kind: "polygon", coordinates: [1, 1, 2, 2] }] },
    ]);
    expect(r.objectsAdded).toBe(1);
    const o = await datasetD1(d.id).prepare("SELECT coordinates FROM annotation_objects WHERE set_id = ?").bind(set.id).first<{ coordinates: string }>();
    expect(o!.coordinates).toBe("[0,0,1000,800]");
  });

  it("matches an exact name before the base name, and reports only the base-name fallback", async () => {
    const { d, set, imgs } = await setup(["train/x.jpg", "x.jpg", "y.jpg"]);
    const exact = (fileName: string, coordinates: number[]) => box(fileName, ["car"], coordinates, { match: "exact" });
    const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, [
      exact("train/x.jpg", [1, 1, 5, 5]),
      exact("val/y.jpg", [2, 2, 6, 6]),
      exact("val/y.jpg", [3, 3, 7, 7]),
    ]);
    expect(r.baseNameMatches).toEqual([{ fileName: "val/y.jpg", imageName: "y.jpg" }]);
    expect(r.baseNameMatchCount).toBe(1);
    const objs = await datasetD1(d.id).prepare("SELECT image_id, coordinates FROM annotation_objects WHERE set_id = ? ORDER BY id").bind(set.id).all();
    expect(objs.results).toEqual([
      { image_id: imgs[0].id, coordinates: "[1,1,5,5]" },
      { image_id: imgs[2].id, coordinates: "[2,2,6,6]" },
      { image_id: imgs[2].id, coordinates: "[3,3,7,7]" },
    ]);
  });

  it("writes image-classification classes at image level, once", async () => {
    const { d, set, imgs } = await setup(["a.jpg", "b.jpg"], "image_classification");
    const recs: ImportRecord[] = [
      { fileName: "a.jpg", match: "exact", objects: [], classes: ["cat", "Cat", "dog"], tags: [] },
      { fileName: "b.jpg", match: "exact", objects: [], classes: ["cat"], tags: [] },
      { fileName: "/x/b.jpg", match: "exact", objects: [], classes: ["cat"], tags: [] },
      { fileName: "/x/c.jpg", match: "exact", objects: [], classes: ["cat"], tags: [] },
    ];
    for (let i = 0; i < 2; i++) {
      const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "image_classification", skipNewClasses: false }, recs);
      // An "exact" name with folders falls back to its base name (issue 10), and says so.
      expect(r).toEqual({
        imagesMatched: 2,
        objectsAdded: 0,
        missing: ["/x/c.jpg"],
        skipped: [],
        skippedCount: 0,
        baseNameMatches: [{ fileName: "/x/b.jpg", imageName: "b.jpg" }],
        baseNameMatchCount: 1,
      });
    }
    const c = await counters(set.id);
    expect(c.set).toEqual({ annotated_images: 2, done_count: 2, skipped_count: 0, total_objects: 0 });
    expect(c.classes).toEqual([
      { name: "Car", object_count: 0, image_count: 0 },
      { name: "Cat", object_count: 0, image_count: 2 },
      { name: "Dog", object_count: 0, image_count: 1 },
    ]);
    expect(imgs.length).toBe(2);
  });

  it("imports 10,500 objects over 2,100 images across several batches with exact counters", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    await insertImagesWhereTheyLive(d.id, 2100, (x, ids) =>
      x.batch(ids.map((id, i) => x.prepare("INSERT INTO images (id, dataset_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, ?, ?, 'x', 'k', 'image/jpeg', 1, 1000, 1000)").bind(id, d.id, `i${i}.jpg`))),
    );
    const set = await createAnnotationSet(db(d.id), { datasetId: d.id, name: "Big", task: "object_detection" });
    const recs: ImportRecord[] = [];
    for (let i = 0; i < 2100; i++)
      recs.push({ fileName: `i${i}.jpg`, match: "basename", classes: [], tags: [i % 2 ? "odd" : "even"], objects: Array.from({ length: 5 }, (_, k) => ({ classes: [`c${k % 3}`], kind: "bbox" as const, coordinates: [k, k, k + 10, k + 10] })) });
    const r = await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, recs);
    expect(r).toEqual({ imagesMatched: 2100, objectsAdded: 10500, missing: [], skipped: [], skippedCount: 0, baseNameMatches: [], baseNameMatchCount: 0 });
    const c = await counters(set.id);
    expect(c.set).toEqual({ annotated_images: 2100, done_count: 2100, skipped_count: 0, total_objects: 10500 });
    expect(c.classes).toEqual([
      { name: "C0", object_count: 4200, image_count: 2100 },
      { name: "C1", object_count: 4200, image_count: 2100 },
      { name: "C2", object_count: 2100, image_count: 2100 },
    ]);
    const tags = await datasetD1(d.id).prepare("SELECT COUNT(*) AS n FROM image_tags WHERE set_id = ?").bind(set.id).first<{ n: number }>();
    expect(tags!.n).toBe(2100);
  });
});

describe("imageShareStatements", () => {
  it("takes the share of images named by a query out of the counters (the delete half)", async () => {
    const { d, set, imgs } = await setup(["a.jpg", "b.jpg"]);
    await applyImport(db(d.id), { datasetId: d.id, setId: set.id, task: "object_detection", skipNewClasses: false }, [
      box("a.jpg", ["car"], [1, 1, 5, 5]),
      box("b.jpg", ["car", "dog"], [1, 1, 5, 5]),
    ]);
    const { sql } = await import("drizzle-orm");
    const { runBatch } = await import("../src/lib/d1");
    const { imageShareStatements } = await import("../src/services/annotations/statistics");
    await runBatch(datasetD1(d.id), [
      ...imageShareStatements(set.id, sql`SELECT id AS value FROM images WHERE id = ${imgs[1].id}`, -1),
      sql`DELETE FROM images WHERE id = ${imgs[1].id}`,
    ]);
    const c = await counters(set.id);
    expect(c.set).toEqual({ annotated_images: 1, done_count: 1, skipped_count: 0, total_objects: 1 });
    expect(c.classes).toEqual([
      { name: "Car", object_count: 1, image_count: 1 },
      { name: "Dog", object_count: 0, image_count: 0 },
    ]);
  });
});

describe("applyImport's counters", () => {
  /** Every counter an import moves, recounted from the rows themselves. */
  async function recount(setId: number) {
    const q = (s: string) => datasetD1({ setId }).prepare(s).bind(setId);
    const set = await q(`SELECT
        (SELECT COUNT(*) FROM annotations a WHERE a.set_id = ?1 AND (
          EXISTS (SELECT 1 FROM annotation_objects o WHERE o.annotation_id = a.id)
          OR EXISTS (SELECT 1 FROM annotation_classes ac WHERE ac.annotation_id = a.id)
          OR EXISTS (SELECT 1 FROM image_tags t WHERE t.set_id = a.set_id AND t.image_id = a.image_id))) AS annotated_images,
        (SELECT COUNT(*) FROM annotations WHERE set_id = ?1 AND status = 1) AS done_count,
        (SELECT COUNT(*) FROM annotations WHERE set_id = ?1 AND status = 0) AS skipped_count,
        (SELECT COUNT(*) FROM annotation_objects WHERE set_id = ?1) AS total_objects`).first();
    const classes = await q(`SELECT c.name,
        (SELECT COUNT(*) FROM annotation_classes ac WHERE ac.set_id = sc.set_id AND ac.class_id = sc.class_id AND ac.object_id IS NOT NULL) AS object_count,
        (SELECT COUNT(DISTINCT image_id) FROM annotation_classes ac WHERE ac.set_id = sc.set_id AND ac.class_id = sc.class_id) AS image_count
      FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ?1 ORDER BY sc.position`).all();
    const wrongObjectCounts = await q(`SELECT COUNT(*) AS n FROM annotations a WHERE a.set_id = ?1
        AND a.object_count != (SELECT COUNT(*) FROM annotation_objects o WHERE o.annotation_id = a.id)`).first<{ n: number }>();
    return { set, classes: classes.results, wrongObjectCounts: wrongObjectCounts!.n };
  }

  it("move by exactly what each import adds, merged into existing objects, links and statuses (no recount)", async () => {
    const { d, set, imgs } = await setup(["a.jpg", "b.jpg", "c.jpg", "d.jpg"]);
    // c was skipped in the annotation tool before any import.
    await datasetD1(d.id).prepare("INSERT INTO annotations (set_id, image_id, status) VALUES (?, ?, 0)").bind(set.id, imgs[2].id).run();
    await datasetD1(d.id).prepare("UPDATE annotation_sets SET skipped_count = 1 WHERE id = ?").bind(set.id).run();
    const opts = { datasetId: d.id, setId: set.id, task: "object_detection" as const, skipNewClasses: false };
    const expectExact = async () => {
      const now = await recount(set.id);
      expect(now.wrongObjectCounts).toBe(0);
      expect(await counters(set.id)).toEqual({ set: now.set, classes: now.classes });
      return now;
    };

    await applyImport(db(d.id), opts, [
      box("a.jpg", ["car"], [1, 1, 5, 5]),
      box("a.jpg", ["person"], [10, 10, 20, 20]),
      box("b.jpg", ["car"], [1, 1, 5, 5]),
      box("c.jpg", ["dog"], [2, 2, 9, 9]),
    ]);
    const first = await expectExact();
    expect(first.set).toEqual({ annotated_images: 3, done_count: 3, skipped_count: 0, total_objects: 4 });

    // An existing box gains a class (and keeps the one it had), a new box of a class the image already has, tags
    // alone on b, an image marked done with nothing in it.
    const second: ImportRecord[] = [
      box("a.jpg", ["car", "truck"], [1, 1, 5, 5]),
      box("a.jpg", ["car"], [30, 30, 40, 40]),
      { fileName: "b.jpg", match: "basename", objects: [], classes: [], tags: ["night"] },
      { fileName: "d.jpg", match: "basename", objects: [], classes: [], tags: [], annotatedEmpty: true },
    ];
    await applyImport(db(d.id), opts, second);
    const after = await expectExact();
    expect(after.set).toEqual({ annotated_images: 3, done_count: 4, skipped_count: 0, total_objects: 5 });
    expect(after.classes).toContainEqual({ name: "Car", object_count: 3, image_count: 2 });
    expect(after.classes).toContainEqual({ name: "Truck", object_count: 1, image_count: 1 });

    // Applied again: nothing new, nothing moves.
    await applyImport(db(d.id), opts, second);
    expect(await expectExact()).toEqual(after);
  });

  it("with a memo across calls, merge and number as without it, and read an image again once another writer changed it", async () => {
    const { d, set, imgs } = await setup(["a.jpg", "b.jpg"]);
    const opts = { datasetId: d.id, setId: set.id, task: "object_detection" as const, skipNewClasses: false };
    // b had a box before the import; a had nothing.
    await applyImport(db(d.id), opts, [box("b.jpg", ["car"], [1, 1, 5, 5])]);
    const memo = newImportMemo();
    const withMemo = { ...opts, memo };
    await applyImport(db(d.id), withMemo, [box("a.jpg", ["car"], [1, 1, 5, 5]), box("b.jpg", ["car"], [2, 2, 6, 6])]);
    expect([...memo.images.keys()]).toEqual([imgs[0].id]);
    // The same box again (merged, gains a class: the memo's hash sends it to the rows) and a new one.
    await applyImport(db(d.id), withMemo, [box("a.jpg", ["dog"], [1, 1, 5, 5]), box("a.jpg", ["car"], [7, 7, 9, 9]), box("b.jpg", ["car"], [1, 1, 5, 5])]);
    // Another writer adds a box to a between two calls: the memo's count no longer holds, a is read again.
    await applyImport(db(d.id), opts, [box("a.jpg", ["cat"], [10, 10, 20, 20])]);
    await applyImport(db(d.id), withMemo, [box("a.jpg", ["car"], [10, 10, 20, 20]), box("a.jpg", ["car"], [30, 30, 40, 40])]);
    expect(memo.images.has(imgs[0].id)).toBe(false);
    const objs = await datasetD1(d.id)
      .prepare(
        `SELECT o.image_id, o.position, o.coordinates, (SELECT group_concat(c.name, ',') FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.object_id = o.id) AS classes
         FROM annotation_objects o WHERE o.set_id = ? ORDER BY o.image_id, o.position`,
      )
      .bind(set.id)
      .all();
    expect(objs.results).toEqual([
      { image_id: imgs[0].id, position: 1, coordinates: "[1,1,5,5]", classes: "Car,Dog" },
      { image_id: imgs[0].id, position: 2, coordinates: "[7,7,9,9]", classes: "Car" },
      { image_id: imgs[0].id, position: 3, coordinates: "[10,10,20,20]", classes: "Cat,Car" },
      { image_id: imgs[0].id, position: 4, coordinates: "[30,30,40,40]", classes: "Car" },
      { image_id: imgs[1].id, position: 1, coordinates: "[1,1,5,5]", classes: "Car" },
      { image_id: imgs[1].id, position: 2, coordinates: "[2,2,6,6]", classes: "Car" },
    ]);
    const now = await recount(set.id);
    expect(now.wrongObjectCounts).toBe(0);
    expect(await counters(set.id)).toEqual({ set: now.set, classes: now.classes });
  });

  it("move by exactly what an image-classification import adds", async () => {
    const { d, set } = await setup(["a.jpg", "b.jpg"], "image_classification");
    const opts = { datasetId: d.id, setId: set.id, task: "image_classification" as const, skipNewClasses: false };
    const label = (fileName: string, classes: string[]): ImportRecord => ({ fileName, match: "basename", objects: [], classes, tags: [] });
    await applyImport(db(d.id), opts, [label("a.jpg", ["car"]), label("b.jpg", ["dog", "car"])]);
    await applyImport(db(d.id), opts, [label("a.jpg", ["car", "cat"]), label("b.jpg", ["dog"])]);
    const now = await recount(set.id);
    expect(await counters(set.id)).toEqual({ set: now.set, classes: now.classes });
    expect(now.classes).toEqual([
      { name: "Car", object_count: 0, image_count: 2 },
      { name: "Dog", object_count: 0, image_count: 1 },
      { name: "Cat", object_count: 0, image_count: 1 },
    ]);
  });
});
