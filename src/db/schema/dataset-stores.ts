import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
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
