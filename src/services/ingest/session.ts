import { sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { parseTask, taskName } from "../../lib/task";
import { enqueueMany } from "../../storage/queues";
import { createAnnotationSet } from "../annotations/sets";
import { addTasksStatement, advance, eventStatement, failSession, IMAGES_PHASE, sessionError } from "./progress";
import { loadSession, type SessionRow } from "./upload-sessions";
import { expandLocalPaths, NOT_ON_THIS_SERVER } from "./local-files";
import { isAbsolutePath } from "../../storage/local-files";

/** How many keys one `local_files` prefix may expand to. */
export const MAX_PREFIX_KEYS = 100_000;

/**
 * The annotation set the upload writes to: the given one, or one named by `annotation_set_name` (reused when its
 * task matches), or a new set named after the task ("<Task> (N)" when the name is taken), as Remo does.
 */
async function ensureSet(env: Env, s: SessionRow): Promise<void> {
  if (s.annotation_set_id || !s.annotation_task) return;
  const task = parseTask(s.annotation_task);
  if (!task) return;
  const db = createDb(env.DB);
  let setId: number | null = null;
  if (s.annotation_set_name) {
    const found = await env.DB.prepare("SELECT id, task FROM annotation_sets WHERE dataset_id = ? AND name = ?")
      .bind(s.dataset_id, s.annotation_set_name)
      .first<{ id: number; task: string }>();
    if (found && found.task === task) setId = found.id;
  }
  if (!setId) {
    const row = await createAnnotationSet(db, {
      datasetId: s.dataset_id,
      name: s.annotation_set_name || taskName(task),
      task,
      uniqueName: true,
    });
    setId = row.id;
  }
  await env.DB.prepare("UPDATE upload_sessions SET annotation_set_id = ? WHERE id = ? AND annotation_set_id IS NULL")
    .bind(setId, s.id)
    .run();
}

/**
 * Direct uploads sent with a presigned URL are only known by their object: present, or never sent. The heads run
 * concurrently and the outcomes go in one batch per page, not a round trip per file.
 */
async function settleDirectUploads(env: Env, sid: string): Promise<void> {
  const rows = await env.DB.prepare(
    "SELECT id, name, r2_key FROM upload_items WHERE session_id = ? AND status = 'awaiting'",
  )
    .bind(sid)
    .all<{ id: number; name: string; r2_key: string }>();
  for (let i = 0; i < rows.results.length; i += 50) {
    const page = rows.results.slice(i, i + 50);
    const heads = await Promise.all(page.map((r) => env.BUCKET.head(r.r2_key)));
    const statements = page.flatMap((r, k) => {
      const head = heads[k];
      if (head)
        return [
          sql`UPDATE upload_items SET status = 'pending', size = ${head.size} WHERE id = ${r.id} AND status = 'awaiting'`,
          sql`UPDATE upload_sessions SET uploaded_images_items = uploaded_images_items + 1, uploaded_images_size = uploaded_images_size + ${head.size}
            WHERE id = ${sid} AND changes() = 1`,
        ];
      return [
        sql`UPDATE upload_items SET status = 'failed' WHERE id = ${r.id}`,
        eventStatement(sid, {
          scope: "session",
          level: "error",
          type: "file",
          value: r.name,
          message: `${r.name}: announced for direct upload but never received`,
          key: `direct:${r.id}`,
        }),
      ];
    });
    await runBatch(env.DB, statements);
  }
}

/** `local_files` prefixes (ending in `/`) become one item per object under them. */
async function expandPrefixes(env: Env, sid: string): Promise<void> {
  const prefixes = await env.DB.prepare(
    "SELECT id, name FROM upload_items WHERE session_id = ? AND source = 'local' AND status = 'pending' AND name LIKE '%/'",
  )
    .bind(sid)
    .all<{ id: number; name: string }>();
  for (const row of prefixes.results) {
    // Deployed, an absolute path is kept as sent (for its error) and names the key without its leading slashes.
    const p = { id: row.id, name: row.name.replace(/^\/+/, "") };
    // A retried expansion starts over: what an earlier attempt inserted for this prefix goes first (a NOT EXISTS
    // per key would be quadratic on 100,000 keys).
    // substr, not LIKE: D1 caps LIKE patterns at 50 bytes, and keys are longer.
    await env.DB.prepare(
      "DELETE FROM upload_items WHERE session_id = ? AND source = 'local' AND status = 'pending' AND id > ? AND substr(name, -1) != '/' AND substr(name, 1, ?) = ?",
    )
      .bind(sid, p.id, p.name.length, p.name)
      .run();
    let cursor: string | undefined;
    let n = 0;
    do {
      const page = await env.BUCKET.list({ prefix: p.name, cursor, limit: 1000 });
      const keys = page.objects.filter((o) => !o.key.endsWith("/")).map((o) => ({ k: o.key, s: o.size }));
      n += keys.length;
      for (let i = 0; i < keys.length; i += 500) {
        await runBatch(env.DB, [
          sql`INSERT INTO upload_items (session_id, source, name, size)
            SELECT ${sid}, 'local', j.value ->> 'k', j.value ->> 's' FROM json_each(${JSON.stringify(keys.slice(i, i + 500))}) j`,
        ]);
      }
      cursor = page.truncated && n < MAX_PREFIX_KEYS ? page.cursor : undefined;
    } while (cursor);
    if (n === 0) {
      const why = isAbsolutePath(row.name) ? NOT_ON_THIS_SERVER : "no objects under this prefix";
      await sessionError(env, sid, "file", row.name, `${row.name}: ${why}`, `prefix:${p.id}`);
    }
    await env.DB.prepare("UPDATE upload_items SET status = 'done' WHERE id = ?").bind(p.id).run();
  }
}

/** Starts a completed session: set, direct uploads, prefixes, then one message per item (the fan-out). */
export async function planSession(env: Env, sid: string): Promise<void> {
  const db = createDb(env.DB);
  await env.DB.prepare(
    "UPDATE upload_sessions SET status = 'in progress', substatus = ? WHERE id = ? AND status = 'pending'",
  )
    .bind(IMAGES_PHASE, sid)
    .run();
  const s = await loadSession(db, sid);
  if (!s || s.status !== "in progress") return;
  try {
    await ensureSet(env, s);
  } catch (e) {
    return failSession(env, sid, `could not create the annotation set: ${(e as Error).message}`, "plan:set");
  }
  await settleDirectUploads(env, sid);
  await expandPrefixes(env, sid);
  await expandLocalPaths(env, sid);
  const items = await env.DB.prepare(
    "SELECT id FROM upload_items WHERE session_id = ? AND status IN ('pending', 'processing') ORDER BY id",
  )
    .bind(sid)
    .all<{ id: number }>();
  // Counted once (a retried planning message re-sends, and duplicates are harmless, but never re-counts).
  await runBatch(env.DB, [
    sql`${addTasksStatement(sid, items.results.length)} AND NOT EXISTS (SELECT 1 FROM upload_events WHERE session_id = ${sid} AND dedupe_key = 'planned')`,
    eventStatement(sid, { scope: "session", level: "note", message: "planned", key: "planned" }),
  ]);
  await enqueueMany(
    env.INGEST,
    items.results.map((i) => ({ type: "ingest-item" as const, sessionId: sid, itemId: i.id, from: 0 })),
  );
  if (!items.results.length) await advance(env, sid);
}
