import { sql } from "drizzle-orm";
import { text } from "drizzle-orm/sqlite-core";

/** ISO-8601 UTC with millisecond precision and a `Z`, set by SQLite so raw inserts get it too. */
export const nowIso = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const timestamps = {
  createdAt: text("created_at").notNull().default(nowIso),
  updatedAt: text("updated_at").notNull().default(nowIso),
};
