import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { ApiError } from "../../lib/errors";
import { runBatch } from "../../lib/d1";
import { enqueue } from "../../storage/queues";
import { readableDataset } from "../access";
import type { ServiceCtx } from "../context";
import { remoDateTime } from "../../lib/timestamps";

export interface SessionRow {
  id: string;
  user_id: number;
  dataset_id: number;
  status: string;
  substatus: string;
  annotation_task: string | null;
  annotation_set_id: number | null;
  annotation_set_name: string | null;
  folder_id: number | null;
  skip_new_classes: number;
  class_encoding: string | null;
  tasks_total: number;
  tasks_done: number;
  images_total: number;
  images_successful: number;
  images_failed: number;
  annotations_total: number;
  annotations_successful: number;
  annotations_failed: number;
  uploaded_images_items: number;
  uploaded_images_size: number;
  uploaded_annotations_items: number;
  uploaded_annotations_size: number;
  uploaded_archives_items: number;
  uploaded_archives_size: number;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

/** Remo's texts (remo-reference §2.3). */
export const sessionNotFound = (sid: string) => new ApiError("NOT_FOUND", `session_id: ${sid} was not found`);

/** How many per-file errors/warnings a status answer lists (the counters stay exact). */
const EVENTS_SHOWN = 1000;

export async function loadSession(db: Db, sid: string): Promise<SessionRow | null> {
  const rows = await db.all<SessionRow>(sql`SELECT * FROM upload_sessions WHERE id = ${sid}`);
  return rows[0] ?? null;
}

/** The caller's session (another user's is a 404, as a missing one). */
export async function ownSession(ctx: ServiceCtx, sid: string): Promise<SessionRow> {
  const row = await loadSession(ctx.db, sid);
  if (!row || row.user_id !== ctx.user.id) throw sessionNotFound(sid);
  return row;
}

export async function createSession(ctx: ServiceCtx, datasetId: number): Promise<SessionRow> {
  const ds = await readableDataset(ctx, datasetId).catch((e) => {
    if (e instanceof ApiError && e.status === 404) throw new ApiError("NOT_FOUND", "Dataset not found");
    throw e;
  });
  if (ds.ownerId !== ctx.user.id) throw new ApiError("FORBIDDEN", "Only admin can edit public datasets.");
  const id = crypto.randomUUID();
  await ctx.db.run(
    sql`INSERT INTO upload_sessions (id, user_id, dataset_id) VALUES (${id}, ${ctx.user.id}, ${datasetId})`,
  );
  return (await loadSession(ctx.db, id))!;
}

/** `not complete → pending`, then the ingest queue takes it. Anything else (already started) is Remo's 404. */
export async function completeSession(ctx: ServiceCtx, sid: string): Promise<void> {
  await ownSession(ctx, sid);
  const claimed = await ctx.db.all<{ id: string }>(sql`
    UPDATE upload_sessions SET status = 'pending', substatus = 'Waiting for processing'
    WHERE id = ${sid} AND user_id = ${ctx.user.id} AND status = 'not complete' RETURNING id`);
  if (!claimed.length) throw new ApiError("NOT_FOUND", `session_id: ${sid} was not found or was already completed`);
  await enqueue(ctx.env.INGEST, { type: "ingest-session", sessionId: sid });
}

/** Remo prints sizes in lower-case units (`0 b`, as its notebooks show), powers of 1024. */
export function humanSize(bytes: number): string {
  const units = ["b", "kb", "mb", "gb", "tb"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} b` : `${v.toFixed(1)} ${units[u]}`;
}

interface EventRow {
  scope: string;
  level: string;
  type: string | null;
  filename: string | null;
  value: string | null;
  message: string;
}

function grouped(events: EventRow[], scope: string, level: "error" | "warning") {
  const by = new Map<string, string[]>();
  for (const e of events) {
    if (e.scope !== scope || e.level !== level) continue;
    const k = e.filename ?? "";
    const list = by.get(k) ?? [];
    list.push(e.message);
    by.set(k, list);
  }
  return [...by].map(([filename, msgs]) =>
    level === "error" ? { filename, errors: msgs } : { filename, warnings: msgs },
  );
}

/** Remo's UploadSessionStatus.to_dict, exactly: the SDK indexes uploaded.total, images and annotations. */
export async function sessionDict(db: Db, s: SessionRow) {
  return (await sessionDicts(db, [s]))[0];
}

/**
 * The status objects of several sessions in two queries whatever their number (their errors and warnings, the
 * first EVENTS_SHOWN of each, and their datasets' names), not two per session.
 */
export async function sessionDicts(db: Db, sessions: SessionRow[]) {
  if (!sessions.length) return [];
  const ids = JSON.stringify(sessions.map((s) => s.id));
  const datasetIds = JSON.stringify([...new Set(sessions.map((s) => s.dataset_id))]);
  const [events, names] = await Promise.all([
    db.all<EventRow & { session_id: string }>(sql`
      SELECT session_id, scope, level, type, filename, value, message FROM (
        SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.session_id ORDER BY e.id) AS rn FROM upload_events e
        WHERE e.session_id IN (SELECT value FROM json_each(${ids})) AND e.level IN ('error', 'warning'))
      WHERE rn <= ${EVENTS_SHOWN} ORDER BY session_id, rn`),
    db.all<{ id: number; name: string }>(sql`SELECT id, name FROM datasets WHERE id IN (SELECT value FROM json_each(${datasetIds}))`),
  ]);
  const bySession = new Map<string, EventRow[]>();
  for (const e of events) {
    const list = bySession.get(e.session_id) ?? [];
    list.push(e);
    bySession.set(e.session_id, list);
  }
  const nameOf = new Map(names.map((d) => [d.id, d.name]));
  return sessions.map((s) => toSessionDict(s, bySession.get(s.id) ?? [], nameOf.get(s.dataset_id)));
}

function toSessionDict(s: SessionRow, events: EventRow[], datasetName: string | undefined) {
  const counts = (total: number, ok: number, failed: number, scope: string) => ({
    pending: Math.max(0, total - ok - failed),
    total,
    successful: ok,
    failed,
    errors: grouped(events, scope, "error"),
    warnings: grouped(events, scope, "warning"),
  });
  const item = (items: number, size: number) => ({ items, size, human_size: humanSize(size) });
  const session = events.filter((e) => e.scope === "session");
  return {
    session_id: s.id,
    created_at: remoDateTime(s.created_at),
    finished_at: remoDateTime(s.finished_at),
    dataset: { id: s.dataset_id, name: datasetName ?? "" },
    status: s.status,
    substatus: s.substatus,
    images: counts(s.images_total, s.images_successful, s.images_failed, "images"),
    annotations: counts(s.annotations_total, s.annotations_successful, s.annotations_failed, "annotations"),
    errors: session
      .filter((e) => e.level === "error")
      .map((e) => ({ type: e.type ?? "error", ...(e.value !== null ? { value: e.value } : {}), error: e.message })),
    warnings: session
      .filter((e) => e.level === "warning")
      .map((e) => ({ type: e.type ?? "warning", ...(e.value !== null ? { value: e.value } : {}), warning: e.message })),
    uploaded: {
      total: item(
        s.uploaded_images_items + s.uploaded_annotations_items + s.uploaded_archives_items,
        s.uploaded_images_size + s.uploaded_annotations_size + s.uploaded_archives_size,
      ),
      images: item(s.uploaded_images_items, s.uploaded_images_size),
      annotations: item(s.uploaded_annotations_items, s.uploaded_annotations_size),
      archives: item(s.uploaded_archives_items, s.uploaded_archives_size),
    },
  };
}

/** Remo: without `show_active` only finished sessions, with any value only unfinished ones; newest first. */
export async function listSessions(ctx: ServiceCtx, showActive: boolean) {
  const rows = await ctx.db.all<SessionRow>(sql`
    SELECT * FROM upload_sessions WHERE user_id = ${ctx.user.id}
      AND status ${showActive ? sql`NOT IN ('done', 'failed')` : sql`IN ('done', 'failed')`}
    ORDER BY created_at DESC, id DESC LIMIT 100`);
  return sessionDicts(ctx.db, rows);
}

export type UploadKind = "images" | "annotations" | "archives";

/** Statement adding to the `uploaded` counters (bytes received, by kind). */
export function countUploaded(sid: string, kind: UploadKind, items: number, size: number) {
  const items_ = sql.raw(`uploaded_${kind}_items`);
  const size_ = sql.raw(`uploaded_${kind}_size`);
  return sql`UPDATE upload_sessions SET ${items_} = ${items_} + ${items}, ${size_} = ${size_} + ${size} WHERE id = ${sid}`;
}

export { runBatch };
