import { env } from "cloudflare:test";
import { inDataset } from "./dataset-rows";
import { createDataset, insertImage, unique, type TestUser } from "./factories";

/**
 * Annotated sets written straight into D1 (the write paths have their own tests), so export tests do not depend on
 * them. Rows follow the schema's rules: one annotations row per annotated image, objects with their classes,
 * image-level classes (object_id null), tags per (set, image), the set's class list.
 */
export interface SeedObject {
  kind?: "bbox" | "polygon";
  coordinates: number[];
  classes: string[];
}

export interface SeedImage {
  name: string;
  width: number;
  height: number;
  objects?: SeedObject[];
  classes?: string[];
  tags?: string[];
  /** Makes the image linked (`local_files`) at this R2 key. */
  linkedKey?: string;
}

export interface SeededSet {
  datasetId: number;
  setId: number;
  setName: string;
  imageIds: Map<string, number>;
}

export type Task = "object_detection" | "instance_segmentation" | "image_classification";

/** The id of a global class or tag, created when missing (in a DatasetStore, also copied into its mirror). */
async function idOf(db: D1Database, table: "classes" | "tags", name: string): Promise<number> {
  await db.prepare(`INSERT OR IGNORE INTO ${table} (name) VALUES (?)`).bind(name).run();
  const row = await db.prepare(`SELECT id FROM ${table} WHERE name = ?`).bind(name).first<{ id: number }>();
  return row!.id;
}

export async function seedSet(
  user: TestUser,
  opts: { task: Task; images: SeedImage[]; classes?: string[]; setName?: string; datasetId?: number },
): Promise<SeededSet> {
  const datasetId = opts.datasetId ?? (await createDataset(user)).id;
  const setName = opts.setName ?? `set-${unique()}`;
  // Images first, each as insertImage writes it; then the set and its rows, in the dataset's own database.
  const inserted = new Map<string, number>();
  for (const img of opts.images)
    inserted.set(img.name, (await insertImage(datasetId, { name: img.name, width: img.width, height: img.height })).id);
  return inDataset(datasetId, async (db) => {
    const set = await db.prepare("INSERT INTO annotation_sets (dataset_id, name, task) VALUES (?, ?, ?) RETURNING id")
      .bind(datasetId, setName, opts.task)
      .first<{ id: number }>();
    const setId = set!.id;
    const classList = opts.classes ?? [
      ...new Set(opts.images.flatMap((i) => [...(i.classes ?? []), ...(i.objects ?? []).flatMap((o) => o.classes)])),
    ];
    for (let p = 0; p < classList.length; p++) {
      await db.prepare("INSERT INTO annotation_set_classes (set_id, class_id, position) VALUES (?, ?, ?)")
        .bind(setId, await idOf(db, "classes", classList[p]), p)
        .run();
    }
    const imageIds = new Map<string, number>();
    for (const img of opts.images) {
      const id = inserted.get(img.name)!;
      imageIds.set(img.name, id);
      if (img.linkedKey)
        await db.prepare("UPDATE images SET linked = 1, r2_key = ? WHERE id = ?").bind(img.linkedKey, id).run();
      const objects = img.objects ?? [];
      const classes = img.classes ?? [];
      if (objects.length || classes.length) {
        const ann = await db.prepare(
          "INSERT INTO annotations (set_id, image_id, status, object_count) VALUES (?, ?, 1, ?) RETURNING id",
        )
          .bind(setId, id, objects.length)
          .first<{ id: number }>();
        for (let k = 0; k < objects.length; k++) {
          const o = objects[k];
          const obj = await db.prepare(
            "INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
          )
            .bind(ann!.id, setId, id, k + 1, `OBJ ${k + 1}`, o.kind ?? "bbox", JSON.stringify(o.coordinates))
            .first<{ id: number }>();
          for (const c of o.classes) {
            await db.prepare(
              "INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id) VALUES (?, ?, ?, ?, ?)",
            )
              .bind(ann!.id, obj!.id, setId, id, await idOf(db, "classes", c))
              .run();
          }
        }
        for (const c of classes) {
          await db.prepare(
            "INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id) VALUES (?, NULL, ?, ?, ?)",
          )
            .bind(ann!.id, setId, id, await idOf(db, "classes", c))
            .run();
        }
      }
      for (const t of img.tags ?? []) {
        await db.prepare("INSERT INTO image_tags (set_id, image_id, tag_id) VALUES (?, ?, ?)")
          .bind(setId, id, await idOf(db, "tags", t))
          .run();
      }
    }
    return { datasetId, setId, setName, imageIds };
  });
}

/** The fixture photos' real sizes (1024 px wide JPEGs). */
export const FIXTURE_SIZES: Record<string, [number, number]> = {
  "001a794d1865ee47.jpg": [1024, 614],
  "001a809ad40a2f84.jpg": [1024, 768],
  "00acf53b127218c2.jpg": [1024, 768],
  "00b562abdf5766d3.jpg": [1024, 683],
  "00b75a8487446cdd.jpg": [1024, 768],
  "00d2a568dd4afd0d.jpg": [1024, 608],
  "00d9efcc4d1fda53.jpg": [1024, 678],
};

export async function fixtureText(name: string): Promise<string> {
  const res = await env.FIXTURES.fetch(`http://fixtures/local/remo-object-detection/annotations/${name}`);
  if (!res.ok) throw new Error(`fixture ${name}: ${res.status}`);
  return res.text();
}

/** The fixture dataset's images, boxes (annotations.csv) and tags (images_tags.csv), images in first-mention order. */
export async function fixtureImages(): Promise<SeedImage[]> {
  const byName = new Map<string, SeedImage>();
  const rows = (await fixtureText("annotations.csv")).trim().split(/\r?\n/).slice(1);
  for (const line of rows) {
    const [file, cls, ...nums] = line.split(",");
    const [w, h] = FIXTURE_SIZES[file];
    let img = byName.get(file);
    if (!img) byName.set(file, (img = { name: file, width: w, height: h, objects: [], tags: [] }));
    img.objects!.push({ coordinates: nums.map(Number), classes: [cls] });
  }
  for (const line of (await fixtureText("images_tags.csv")).trim().split(/\r?\n/).slice(1)) {
    const [file, tag] = line.split(",");
    byName.get(file)?.tags!.push(tag);
  }
  return [...byName.values()];
}

export async function seedFixtureSet(user: TestUser, setName?: string): Promise<SeededSet> {
  return seedSet(user, { task: "object_detection", images: await fixtureImages(), setName });
}
