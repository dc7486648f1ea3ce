import { datasetD1, insertImagesWhereTheyLive } from "./helpers/dataset-rows";
import { describe, expect, it } from "vitest";
import { exportPages, IMAGE_PAGE, OBJECT_PAGE } from "../src/services/export/pages";
import { createUser } from "./helpers/factories";
import { seedSet } from "./helpers/seed-annotations";

describe("export pages (keyset over D1)", () => {
  it("cuts a page before an image that would pass the object cap, and reads an image over the cap alone", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "object_detection",
      images: [
        { name: "crowded.jpg", width: 100, height: 100, objects: [{ coordinates: [0, 0, 1, 1], classes: ["A"] }] },
        { name: "b.jpg", width: 100, height: 100, objects: [{ coordinates: [1, 1, 2, 2], classes: ["B", "C"] }] },
        { name: "c.jpg", width: 100, height: 100, objects: [{ coordinates: [2, 2, 3, 3], classes: ["A"] }] },
      ],
    });
    // The dataset's own database (D1, or its DatasetStore: test/helpers/dataset-rows.ts).
    const db = datasetD1(s.datasetId);
    const crowded = s.imageIds.get("crowded.jpg")!;
    // OBJECT_PAGE more objects on the first image, written in SQL (with their class link) to keep the test fast.
    const ann = await db.prepare("SELECT id FROM annotations WHERE set_id = ? AND image_id = ?")
      .bind(s.setId, crowded)
      .first<{ id: number }>();
    const cls = await db.prepare("SELECT id FROM classes WHERE name = 'A'").first<{ id: number }>();
    await db.batch([
      db.prepare(
        "INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates) " +
          "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < ?4) " +
          "SELECT ?1, ?2, ?3, i, 'OBJ', 'bbox', json_array(i % 90, 0, i % 90 + 5, 5) FROM n",
      ).bind(ann!.id, s.setId, crowded, OBJECT_PAGE + 1),
      db.prepare(
        "INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id) SELECT annotation_id, id, set_id, image_id, ?3 FROM annotation_objects WHERE set_id = ?1 AND image_id = ?2 AND position > 1",
      ).bind(s.setId, crowded, cls!.id),
    ]);

    const pages = [];
    for await (const page of exportPages(db, {
      datasetId: s.datasetId,
      setId: s.setId,
      withoutAnnotations: false,
      tagIds: null,
    }))
      pages.push(page);
    expect(pages.map((p) => p.map((i) => i.fileName))).toEqual([["crowded.jpg"], ["b.jpg", "c.jpg"]]);
    expect(pages[0][0].objects).toHaveLength(OBJECT_PAGE + 1);
    expect(pages[0][0].objects.every((o) => o.classes.length === 1 && o.classes[0] === "A")).toBe(true);
    expect(pages[0][0].objects.map((o) => o.coordinates)[0]).toEqual([0, 0, 1, 1]); // position order
    expect(pages[1][0].objects[0].classes).toEqual(["B", "C"]);
  });

  it("pages by image id without skipping or repeating, IMAGE_PAGE images at a time", async () => {
    const u = await createUser();
    const s = await seedSet(u, { task: "image_classification", classes: ["Cat"], images: [] });
    const n = IMAGE_PAGE * 2 + 7;
    await insertImagesWhereTheyLive(s.datasetId, n, (x, [first]) =>
        x
          .prepare(
            "INSERT INTO images (id, dataset_id, original_name, sha256, r2_key, mime, size, width, height) " +
              "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?2) SELECT ?3 + i, ?1, 'p' || i || '.jpg', 's' || i, 'k' || i, 'image/jpeg', 1, 10, 10 FROM n",
          )
          .bind(s.datasetId, n - 1, first)
          .run(),
    );
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const page of exportPages(
      datasetD1(s.datasetId),
      { datasetId: s.datasetId, setId: s.setId, withoutAnnotations: true, tagIds: null },
      { annotations: false },
    )) {
      sizes.push(page.length);
      seen.push(...page.map((i) => i.id));
    }
    expect(sizes).toEqual([IMAGE_PAGE, IMAGE_PAGE, 7]);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });
});
