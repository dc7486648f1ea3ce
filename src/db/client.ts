import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * A drizzle database over `d1` (or anything with D1's interface: src/dataset-store/sql-d1.ts, split-d1.ts). Built
 * per request, so without `schema`: drizzle would derive its relational config from the whole schema on every call,
 * and no service uses the relational API (`db.query`); queries name their tables themselves.
 */
export function createDb(d1: D1Database) {
  return drizzle(d1);
}

export type Db = ReturnType<typeof createDb>;
export { schema };
