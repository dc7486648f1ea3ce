import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { timestamps } from "./common";
import { users } from "./users";

/**
 * Background work a user can poll (exports, pyramids). status: queued | running | done | failed.
 * `state` is the job's private resume point (JSON), e.g. an R2 multipart upload id and its finished parts.
 */
export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    datasetId: integer("dataset_id"),
    kind: text("kind").notNull(),
    status: text("status").notNull().default("queued"),
    progressDone: integer("progress_done").notNull().default(0),
    progressTotal: integer("progress_total").notNull().default(0),
    error: text("error"),
    params: text("params").notNull().default("{}"),
    // Identical requests while one runs share the job.
    dedupeKey: text("dedupe_key"),
    resultKey: text("result_key"),
    resultSize: integer("result_size"),
    resultName: text("result_name"),
    resultType: text("result_type"),
    state: text("state"),
    expiresAt: text("expires_at"),
    ...timestamps,
  },
  (t) => [
    index("jobs_user_id_id_idx").on(t.userId, t.id),
    index("jobs_dedupe_key_status_idx").on(t.dedupeKey, t.status),
    index("jobs_expires_at_idx").on(t.expiresAt),
  ],
);
