import { sql, type SQL } from "drizzle-orm";
import { createDb, type Db } from "../../db/client";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { enqueueMany } from "../../storage/queues";
import { log } from "../../lib/log";

export interface SessionEvent {
  scope: "images" | "annotations" | "session";
  level: "error" | "warning" | "note";
  type?: string;
  filename?: string;
  value?: string;
  message: string;
  /** Same key, same event: a retried message records nothing twice. */
  key: string;
}

/** Inserts the event unless its key is already recorded; `changes()` after it is 1 only for a new event. */
export function eventStatement(sid: string, e: SessionEvent): SQL {
  return sql`INSERT INTO upload_events (session_id, scope, level, type, filename, value, message, dedupe_key)
    SELECT ${sid}, ${e.scope}, ${e.level}, ${e.type ?? null}, ${e.filename ?? null}, ${e.value ?? null}, ${e.message}, ${e.key}
    WHERE NOT EXISTS (SELECT 1 FROM upload_events WHERE session_id = ${sid} AND dedupe_key = ${e.key})`;
}

/** Statements recording a failed file of `scope`: the event, and its counters only if the event was new. */
export function fileErrorStatements(
  sid: string,
  scope: "images" | "annotations",
  filename: string,
  message: string,
  key: string,
): SQL[] {
  const failed = sql.raw(`${scope}_failed`);
  const total = sql.raw(`${scope}_total`);
  return [
    eventStatement(sid, { scope, level: "error", filename, message, key }),
    sql`UPDATE upload_sessions SET ${failed} = ${failed} + 1, ${total} = ${total} + 1 WHERE id = ${sid} AND changes() = 1`,
  ];
}

export async function recordEvents(env: Env, sid: string, events: SessionEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 50)
    await runBatch(
      env.DB,
      events.slice(i, i + 50).map((e) => eventStatement(sid, e)),
    );
}

export async function sessionError(
  env: Env,
  sid: string,
  type: string,
  value: string | undefined,
  message: string,
  key: string,
) {
  await recordEvents(env, sid, [{ scope: "session", level: "error", type, value, message, key }]);
}

/**
 * Marks one unit of work done (once, whatever the retries) and, if it was the last one, moves the session on:
 * images phase → annotations phase (annotation files wait until every image is in) → done | failed.
 */
export async function finishTask(env: Env, sid: string, taskKey: string): Promise<void> {
  await runBatch(env.DB, [
    sql`UPDATE upload_sessions SET tasks_done = tasks_done + 1
      WHERE id = ${sid} AND NOT EXISTS (SELECT 1 FROM upload_events WHERE session_id = ${sid} AND dedupe_key = ${"task:" + taskKey})`,
    eventStatement(sid, { scope: "session", level: "note", message: "task done", key: "task:" + taskKey }),
  ]);
  await advance(env, sid);
}

/** Adds tasks to the session's count (before their messages are sent, so the session cannot close early). */
export function addTasksStatement(sid: string, n: number): SQL {
  return sql`UPDATE upload_sessions SET tasks_total = tasks_total + ${n} WHERE id = ${sid}`;
}

export async function advance(env: Env, sid: string): Promise<void> {
  const db = createDb(env.DB);
  const [s] = await db.all<{ status: string; substatus: string; tasks_done: number; tasks_total: number }>(
    sql`SELECT status, substatus, tasks_done, tasks_total FROM upload_sessions WHERE id = ${sid}`,
  );
  if (!s || s.status !== "in progress" || s.tasks_done < s.tasks_total) return;
  if (s.substatus !== ANNOTATIONS_PHASE) {
    // Whoever flips the phase enqueues the annotation files; a concurrent finisher sees the flip and stops.
    const flipped = await db.all<{ id: string }>(sql`
      UPDATE upload_sessions SET substatus = ${ANNOTATIONS_PHASE},
        tasks_total = tasks_total + (SELECT COUNT(*) FROM upload_items WHERE session_id = ${sid} AND status = 'deferred')
      WHERE id = ${sid} AND status = 'in progress' AND substatus != ${ANNOTATIONS_PHASE} AND tasks_done >= tasks_total RETURNING id`);
    if (!flipped.length) return;
    const items = await db.all<{ id: number }>(
      sql`SELECT id FROM upload_items WHERE session_id = ${sid} AND status = 'deferred' ORDER BY id`,
    );
    if (items.length) {
      await enqueueMany(
        env.INGEST,
        items.map((i) => ({ type: "ingest-annotations" as const, sessionId: sid, itemId: i.id })),
      );
      return;
    }
  }
  await finishSession(env, db, sid);
}

export const IMAGES_PHASE = "Processing images";
export const ANNOTATIONS_PHASE = "Processing annotations";

/**
 * done, or failed if any error was recorded (Remo: a duplicate image fails the session too). Staging is emptied.
 * The substatus is cleared, as Remo's finish() does: the SDK prints a non-empty one after its progress line.
 */
export async function finishSession(env: Env, db: Db, sid: string): Promise<void> {
  if (env.DATASET_STORE_ID) await recountStoredImages(env, sid);
  const done = await db.all<{ id: string }>(sql`
    UPDATE upload_sessions SET
      status = CASE WHEN EXISTS (SELECT 1 FROM upload_events WHERE session_id = ${sid} AND level = 'error') THEN 'failed' ELSE 'done' END,
      substatus = '', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = ${sid} AND status = 'in progress' RETURNING id`);
  if (!done.length) return;
  // Bookkeeping rows (one per task) only matter while the session runs.
  await env.DB.prepare("DELETE FROM upload_events WHERE session_id = ? AND level = 'note'").bind(sid).run();
  await clearStaging(env, sid);
}

/**
 * In a DatasetStore, a session's images are counted again from the object before it finishes: its rows and the
 * session's counters are written in two databases (ImageBatch.writeInStore), and a crash between the two leaves the
 * counters short, which a retry does not redo (it sees the rows already there). The success counter becomes the
 * number of rows this session inserted; the total moves by the same difference. Never lowers a counter.
 */
async function recountStoredImages(env: Env, sid: string): Promise<void> {
  const n = (await env.DB.prepare("SELECT count(*) AS n FROM images WHERE upload_session_id = ?1").bind(sid).first<number>("n")) ?? 0;
  await env.DB.prepare(
    `UPDATE upload_sessions SET images_total = images_total + (?2 - images_successful), images_successful = ?2
     WHERE id = ?1 AND images_successful < ?2`,
  )
    .bind(sid, n)
    .run();
}

/** Terminal failure (dead letter, fatal planning error): the reason is a session error. */
export async function failSession(env: Env, sid: string, reason: string, key: string): Promise<void> {
  await runBatch(env.DB, [
    eventStatement(sid, { scope: "session", level: "error", type: "error", message: reason, key }),
    sql`UPDATE upload_sessions SET status = 'failed', error = ${reason}, substatus = '',
      finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ${sid} AND status NOT IN ('done', 'failed')`,
  ]);
  await clearStaging(env, sid);
}

/** Received bytes are only needed until the session ends (images were copied to their content address). */
export async function clearStaging(env: Env, sid: string): Promise<void> {
  try {
    let after = 0;
    for (;;) {
      const rows = await env.DB.prepare(
        "SELECT id, r2_key FROM upload_items WHERE session_id = ? AND id > ? AND source != 'local' AND r2_key LIKE 'uploads/%' ORDER BY id LIMIT 500",
      )
        .bind(sid, after)
        .all<{ id: number; r2_key: string }>();
      if (!rows.results.length) break;
      await env.BUCKET.delete(rows.results.map((r) => r.r2_key));
      after = rows.results[rows.results.length - 1].id;
    }
  } catch (e) {
    log("warn", sid, "staging cleanup failed", { error: String(e) });
  }
}
