import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { nowIso } from "./common";
import { datasets, folders } from "./datasets";

/**
 * One row per image in a dataset. Bytes live in R2: uploaded originals at `images/<sha256>` (stored once across
 * datasets), linked ones (`local_files`) at the key they already had (`linked` = true, never deleted by us).
 */
export const images = sqliteTable(
  "images",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    folderId: integer("folder_id").references(() => folders.id, { onDelete: "cascade" }),
    originalName: text("original_name").notNull(),
    sha256: text("sha256").notNull(),
    r2Key: text("r2_key").notNull(),
    linked: integer("linked", { mode: "boolean" }).notNull().default(false),
    mime: text("mime").notNull(),
    size: integer("size").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    uploadSessionId: text("upload_session_id"),
    // Deep-zoom pyramid (successive halvings in R2): null | queued | building | ready | failed.
    pyramidStatus: text("pyramid_status"),
    pyramidLevels: integer("pyramid_levels"),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [
    // Remo's rule: one image per base file name in a dataset.
    uniqueIndex("images_dataset_id_original_name_idx").on(t.datasetId, t.originalName),
    // (dataset_id) alone is ordered by rowid: "first images of a dataset" and paging by id read the index only.
    index("images_dataset_id_idx").on(t.datasetId),
    index("images_dataset_id_folder_id_id_idx").on(t.datasetId, t.folderId, t.id),
    index("images_sha256_idx").on(t.sha256),
    index("images_r2_key_idx").on(t.r2Key),
  ],
);

/**
 * How many images each folder of a dataset holds (`folder_id` 0: the dataset's root), kept by SQLite triggers on
 * `images` (insert, delete, a move between folders; cascaded deletes included) and on `folders` (a deleted folder's
 * row goes), written in migrations/0006_folder_image_counts.sql. The contents page's `count` and a folder's
 * `total_images` read it instead of a `COUNT(*)` over the folder's index entries (issue 13). `version` goes up with
 * every change to the folder's image list, so a cache of that list (the DatasetStore's contents pages) knows when it
 * is stale. Never written by the services themselves.
 */
export const folderImageCounts = sqliteTable(
  "folder_image_counts",
  {
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    folderId: integer("folder_id").notNull(),
    imageCount: integer("image_count").notNull().default(0),
    version: integer("version").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.folderId] })],
);

/** R2 keys that may have lost their last image row; a queued sweep deletes those nothing points at any more. */
export const blobGc = sqliteTable("blob_gc", {
  r2Key: text("r2_key").primaryKey(),
  createdAt: text("created_at").notNull().default(nowIso),
});
