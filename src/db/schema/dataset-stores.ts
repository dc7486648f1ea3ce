import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { timestamps } from "./common";
import { datasets } from "./datasets";

/**
 * The D1 → DatasetStore copy of each dataset (issue 13): control plane, D1 only. state: copying | verified (counts
 * equal when last checked) | mismatch (counts differ; `detail` holds both) | failed (the job exhausted its retries).
 * Routing a dataset to its object (a later state) is not built yet.
 */
export const datasetStoreCopies = sqliteTable("dataset_store_copies", {
  datasetId: integer("dataset_id")
    .primaryKey()
    .references(() => datasets.id, { onDelete: "cascade" }),
  state: text("state").notNull().default("copying"),
  rowsCopied: integer("rows_copied").notNull().default(0),
  passes: integer("passes").notNull().default(0),
  detail: text("detail"),
  ...timestamps,
});

/**
 * Where an image id lives (issue 13): control plane, D1 only. Remo's API addresses an image by its id alone
 * (`/api/v1/ui/images/{id}`, the byte, DZI and IIIF paths), so once a dataset's images are in its DatasetStore,
 * D1 must still say which dataset holds an id without holding a row per image. Each row is a closed range
 * [first_id, last_id] of ids that belong to one dataset:
 * - `legacy`: ids a dataset's images got from D1's AUTOINCREMENT before it moved (the runs of its ids with no
 *   other dataset's id between them, read off at copy time; ids are never reused, so a range stays true);
 * - `block`: IMAGE_BLOCK_SIZE ids from IMAGE_BLOCK_BASE (2^32) up, taken by a dataset whose object allocates ids.
 * Ranges never overlap. See src/dataset-store/locate.ts.
 */
export const imageIdRanges = sqliteTable(
  "image_id_ranges",
  {
    firstId: integer("first_id").primaryKey(),
    lastId: integer("last_id").notNull(),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
  },
  (t) => [index("image_id_ranges_dataset_id_idx").on(t.datasetId)],
);

/**
 * Which datasets served by their DatasetStore may point at an R2 key (issue 13): control plane, D1 only. Their image
 * rows are not in D1, so the blob sweep (src/services/images/blob-gc.ts) cannot see them there. A row is written
 * before the object's image row (so a crash between leaves one row too many, never one too few), and the sweep asks
 * the object before it trusts one, dropping the rows whose object no longer uses the key. Same bytes in several
 * datasets: one row each.
 */
export const blobRefs = sqliteTable(
  "blob_refs",
  {
    r2Key: text("r2_key").notNull(),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.r2Key, t.datasetId] }), index("blob_refs_dataset_id_idx").on(t.datasetId)],
);
