import { index, integer, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { timestamps } from "./common";
import { users } from "./users";

export const datasets = sqliteTable(
  "datasets",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ownerId: integer("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    isPublic: integer("is_public", { mode: "boolean" }).notNull().default(false),
    isArchived: integer("is_archived", { mode: "boolean" }).notNull().default(false),
    license: text("license"),
    // Counters kept in the same batch as image inserts/deletes, so lists never count rows.
    imageCount: integer("image_count").notNull().default(0),
    sizeInBytes: integer("size_in_bytes").notNull().default(0),
    // Where the dataset's rows are served from (issue 13): 'd1'; 'frozen' while its switch-over copies it (writes
    // answer 503); 'object' once its DatasetStore serves it. Only the switch-over job changes it.
    store: text("store").notNull().default("d1"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("datasets_owner_id_name_idx").on(t.ownerId, t.name),
    index("datasets_owner_id_archived_id_idx").on(t.ownerId, t.isArchived, t.id),
    index("datasets_public_id_idx").on(t.isPublic, t.id),
  ],
);

export const folders = sqliteTable(
  "folders",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    parentId: integer("parent_id").references((): AnySQLiteColumn => folders.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    ...timestamps,
  },
  (t) => [index("folders_dataset_id_parent_id_id_idx").on(t.datasetId, t.parentId, t.id)],
);
