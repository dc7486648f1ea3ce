// Seeds a large annotated dataset straight into the local D1 SQLite file (much faster than the API for millions
// of rows). Used from startServer({ beforeStart }) before wrangler dev opens the file.
import { createHash, randomBytes } from "node:crypto";
import Database from "better-sqlite3";

/**
 * @param {string} d1File the local D1 SQLite file (bench/lib/server.mjs d1File())
 * @param {{ images?: number, objectsPerImage?: number, classes?: number, tags?: number, task?: string,
 *           width?: number, height?: number, datasetName?: string, email?: string }} opts
 * @returns {{ key: string, userId: number, datasetId: number, setId: number, firstImageId: number, lastImageId: number,
 *             classNames: string[], tagNames: string[], objects: number }}
 *
 * Shape: a user (with an API key, returned), one private dataset of `images` images (width x height, fake bytes
 * keys, never fetched), one annotation set with `objectsPerImage` bboxes per image, object k of image i in class
 * (i + k) % classes, and image i tagged tag i % tags. Every statistics counter is written as the API keeps it.
 */
export function seedLargeSet(d1File, opts = {}) {
  const nImages = opts.images ?? 100_000;
  const perImage = opts.objectsPerImage ?? 10;
  const nClasses = opts.classes ?? 20;
  const nTags = opts.tags ?? 5;
  const task = opts.task ?? "object_detection";
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  const db = new Database(d1File);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const key = randomBytes(32).toString("base64url");
  const email = opts.email ?? `seed-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
  const classNames = Array.from({ length: nClasses }, (_, i) => `Class ${i}`);
  const tagNames = Array.from({ length: nTags }, (_, i) => `tag${i}`);
  const out = db.transaction(() => {
    const userId = db
      .prepare("INSERT INTO users (email, name, password_hash) VALUES (?, 'Bench', 'x') RETURNING id")
      .get(email).id;
    db.prepare("INSERT INTO api_keys (user_id, key_hash) VALUES (?, ?)").run(userId, createHash("sha256").update(key).digest("hex"));
    const datasetId = db
      .prepare("INSERT INTO datasets (owner_id, name, image_count, size_in_bytes) VALUES (?, ?, ?, ?) RETURNING id")
      .get(userId, opts.datasetName ?? `Seeded ${nImages}`, nImages, nImages * 1000).id;
    const setId = db
      .prepare("INSERT INTO annotation_sets (dataset_id, name, task, last_annotated_at) VALUES (?, 'Seeded set', ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) RETURNING id")
      .get(datasetId, task).id;
    const classIds = classNames.map((name, i) => {
      db.prepare("INSERT OR IGNORE INTO classes (name) VALUES (?)").run(name);
      const id = db.prepare("SELECT id FROM classes WHERE name = ?").get(name).id;
      db.prepare("INSERT INTO annotation_set_classes (set_id, class_id, position) VALUES (?, ?, ?)").run(setId, id, i);
      return id;
    });
    const tagIds = tagNames.map((name) => {
      db.prepare("INSERT OR IGNORE INTO tags (name) VALUES (?)").run(name);
      return db.prepare("SELECT id FROM tags WHERE name = ?").get(name).id;
    });
    const insImage = db.prepare(
      "INSERT INTO images (dataset_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, ?, ?, ?, 'image/jpeg', 1000, ?, ?) RETURNING id",
    );
    const insAnn = db.prepare("INSERT INTO annotations (set_id, image_id, status, object_count) VALUES (?, ?, 1, ?) RETURNING id");
    const insObj = db.prepare(
      "INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates) VALUES (?, ?, ?, ?, ?, 'bbox', ?) RETURNING id",
    );
    const insLink = db.prepare("INSERT INTO annotation_classes (annotation_id, object_id, set_id, image_id, class_id, score) VALUES (?, ?, ?, ?, ?, ?)");
    const insTag = db.prepare("INSERT INTO image_tags (set_id, image_id, tag_id) VALUES (?, ?, ?)");
    const objCount = new Array(nClasses).fill(0);
    const imgCount = new Array(nClasses).fill(0);
    let firstImageId = 0;
    let lastImageId = 0;
    for (let i = 0; i < nImages; i++) {
      const sha = createHash("sha256").update(`seed-${datasetId}-${i}`).digest("hex");
      const imageId = insImage.get(datasetId, `img_${String(i).padStart(7, "0")}.jpg`, sha, `images/${sha}`, width, height).id;
      if (!firstImageId) firstImageId = imageId;
      lastImageId = imageId;
      const annId = insAnn.get(setId, imageId, task === "image_classification" ? 0 : perImage).id;
      const seen = new Set();
      if (task === "image_classification") {
        const c = i % nClasses;
        insLink.run(annId, null, setId, imageId, classIds[c], 1);
        imgCount[c]++;
      } else {
        for (let k = 0; k < perImage; k++) {
          const x = (k * 37 + i) % (width - 40);
          const y = (k * 23 + i) % (height - 40);
          const objId = insObj.get(annId, setId, imageId, k + 1, `OBJ ${k + 1}`, JSON.stringify([x, y, x + 30 + k, y + 30 + k])).id;
          const c = (i + k) % nClasses;
          insLink.run(annId, objId, setId, imageId, classIds[c], null);
          objCount[c]++;
          if (!seen.has(c)) {
            seen.add(c);
            imgCount[c]++;
          }
        }
      }
      if (nTags) insTag.run(setId, imageId, tagIds[i % nTags]);
    }
    const objects = task === "image_classification" ? 0 : nImages * perImage;
    const upd = db.prepare("UPDATE annotation_set_classes SET object_count = ?, image_count = ? WHERE set_id = ? AND class_id = ?");
    classIds.forEach((id, c) => upd.run(objCount[c], imgCount[c], setId, id));
    db.prepare("UPDATE annotation_sets SET annotated_images = ?, done_count = ?, total_objects = ? WHERE id = ?").run(nImages, nImages, objects, setId);
    return { key, userId, datasetId, setId, firstImageId, lastImageId, classNames, tagNames, objects };
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.pragma("journal_mode = DELETE");
  db.close();
  return out;
}
