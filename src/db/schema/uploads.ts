import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { nowIso } from "./common";
import { datasets } from "./datasets";
import { users } from "./users";

/**
 * status: not complete | pending | in progress | done | failed (Remo's strings).
 * Counters are columns (not a JSON blob) so concurrent queue consumers can increment them atomically.
 */
export const uploadSessions = sqliteTable(
  "upload_sessions",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    datasetId: integer("dataset_id")
      .notNull()
      .references(() => datasets.id, { onDelete: "cascade" }),
    status: text("status").notNull().default("not complete"),
    substatus: text("substatus").notNull().default(""),
    annotationTask: text("annotation_task"),
    annotationSetId: integer("annotation_set_id"),
    annotationSetName: text("annotation_set_name"),
    folderId: integer("folder_id"),
    skipNewClasses: integer("skip_new_classes", { mode: "boolean" }).notNull().default(false),
    classEncoding: text("class_encoding"),
    // Work accounting for the fan-out: messages enqueued and finished; the last one to finish closes the session.
    tasksTotal: integer("tasks_total").notNull().default(0),
    tasksDone: integer("tasks_done").notNull().default(0),
    imagesTotal: integer("images_total").notNull().default(0),
    imagesSuccessful: integer("images_successful").notNull().default(0),
    imagesFailed: integer("images_failed").notNull().default(0),
    annotationsTotal: integer("annotations_total").notNull().default(0),
    annotationsSuccessful: integer("annotations_successful").notNull().default(0),
    annotationsFailed: integer("annotations_failed").notNull().default(0),
    uploadedImagesItems: integer("uploaded_images_items").notNull().default(0),
    uploadedImagesSize: integer("uploaded_images_size").notNull().default(0),
    uploadedAnnotationsItems: integer("uploaded_annotations_items").notNull().default(0),
    uploadedAnnotationsSize: integer("uploaded_annotations_size").notNull().default(0),
    uploadedArchivesItems: integer("uploaded_archives_items").notNull().default(0),
    uploadedArchivesSize: integer("uploaded_archives_size").notNull().default(0),
    error: text("error"),
    createdAt: text("created_at").notNull().default(nowIso),
    finishedAt: text("finished_at"),
  },
  (t) => [
    index("upload_sessions_user_id_status_idx").on(t.userId, t.status),
    index("upload_sessions_dataset_id_idx").on(t.datasetId),
  ],
);

/** What a session received before `complete`: multipart files, direct uploads, URLs, bucket keys/prefixes. */
export const uploadItems = sqliteTable(
  "upload_items",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionId: text("session_id")
      .notNull()
      .references(() => uploadSessions.id, { onDelete: "cascade" }),
    // file | url | local | direct
    source: text("source").notNull(),
    name: text("name").notNull(),
    r2Key: text("r2_key"),
    url: text("url"),
    size: integer("size").notNull().default(0),
    sha256: text("sha256"),
    // pending | processing | done | failed
    status: text("status").notNull().default("pending"),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [index("upload_items_session_id_id_idx").on(t.sessionId, t.id)],
);

/** Per-file errors and warnings of a session. scope: images | annotations | session; level: error | warning. */
export const uploadEvents = sqliteTable(
  "upload_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    sessionId: text("session_id")
      .notNull()
      .references(() => uploadSessions.id, { onDelete: "cascade" }),
    scope: text("scope").notNull(),
    level: text("level").notNull(),
    type: text("type"),
    filename: text("filename"),
    value: text("value"),
    message: text("message").notNull(),
    // Idempotency: a retried message re-inserts the same key, which is ignored.
    dedupeKey: text("dedupe_key"),
    createdAt: text("created_at").notNull().default(nowIso),
  },
  (t) => [
    index("upload_events_session_id_id_idx").on(t.sessionId, t.id),
    index("upload_events_dedupe_key_idx").on(t.sessionId, t.dedupeKey),
  ],
);
