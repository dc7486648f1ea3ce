import { sql } from "drizzle-orm";
import { z } from "zod";
import { runBatch } from "../../lib/d1";
import { ApiError, badRequest } from "../../lib/errors";
import { parseTask, taskName } from "../../lib/task";
import { sniffImageMime } from "../../media/probe";
import { archiveKind } from "../../storage/archives";
import { BlobWriter, userKeyProblem } from "../../storage/blobs";
import { isAbsolutePath, localFilesService } from "../../storage/local-files";
import { LOCAL_PATH } from "./local-files";
import { writableDataset } from "../access";
import type { ServiceCtx } from "../context";
import { boundaryOf, parseMultipart } from "./upload-multipart";
import {
  completeSession,
  countUploaded,
  createSession,
  loadSession,
  sessionNotFound,
  type UploadKind,
} from "./upload-sessions";

/** Bodies through the Worker: bigger files use direct uploads. */
export const MAX_REQUEST_BYTES = 100 * 1024 * 1024;
const MAX_JSON_BYTES = 4 * 1024 * 1024;
const MAX_LIST = 10_000;

const TRUE = new Set([true, "true", "True", "1", 1]);

export interface UploadInput {
  session_id?: string;
  complete?: boolean;
  annotation_task?: string;
  annotation_set_id?: string;
  annotation_set_name?: string;
  folder_id?: string;
  skip_new_classes?: boolean;
  class_encoding?: string;
  urls: string[];
  local_files: string[];
}

interface ReceivedFile {
  name: string;
  key: string;
  size: number;
  sha256: string;
  kind: UploadKind;
}

const JsonBody = z.object({
  session_id: z.string().max(100).optional(),
  complete: z.union([z.boolean(), z.string()]).optional(),
  annotation_task: z.union([z.string(), z.number()]).optional().nullable(),
  annotation_set_id: z.union([z.string(), z.number()]).optional().nullable(),
  annotation_set_name: z.string().max(200).optional().nullable(),
  folder_id: z.union([z.string(), z.number()]).optional().nullable(),
  skip_new_classes: z.union([z.boolean(), z.string()]).optional(),
  class_encoding: z.unknown().optional(),
  urls: z.array(z.string().max(4096)).max(MAX_LIST).optional(),
  // Which rule an entry follows (bucket key, or a path on the user's disk) depends on the server: checkLocalFiles.
  local_files: z.array(z.string().min(1).max(4096)).max(MAX_LIST).optional(),
});

const str = (v: unknown) => (v === undefined || v === null || v === "" ? undefined : String(v));

function fromJson(raw: unknown): UploadInput {
  const r = JsonBody.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw badRequest(
      `Invalid body: ${i.path.join(".")}: ${i.message}`,
      r.error.issues.map((x) => ({ path: x.path.join("."), message: x.message })),
    );
  }
  const b = r.data;
  return {
    session_id: str(b.session_id),
    complete: b.complete !== undefined ? TRUE.has(b.complete) : undefined,
    annotation_task: str(b.annotation_task),
    annotation_set_id: str(b.annotation_set_id),
    annotation_set_name: str(b.annotation_set_name),
    folder_id: str(b.folder_id),
    skip_new_classes: b.skip_new_classes !== undefined ? TRUE.has(b.skip_new_classes) : undefined,
    class_encoding:
      b.class_encoding === undefined || b.class_encoding === null ? undefined : JSON.stringify(b.class_encoding),
    urls: b.urls ?? [],
    local_files: b.local_files ?? [],
  };
}

const ENCODING_TYPES = ["autodetect", "custom", "WordNet", "GoogleKnowledgeGraph"];

/**
 * Why a class encoding (as stored: JSON of a type name or `{type, classes?, raw_content?, local_path?}`) is refused,
 * or null. Its type must be one of Remo's (remo-reference §4.7, any letter case): an unknown one used to be
 * ignored silently, leaving the labels undecoded with no word why.
 */
export function classEncodingProblem(encoded: string | undefined): string | null {
  if (encoded === undefined) return null;
  const v: unknown = JSON.parse(encoded);
  const type = typeof v === "string" ? v : v && typeof v === "object" ? (v as { type?: unknown }).type : v;
  if (type === undefined || type === null || type === "") return null;
  if (typeof type === "string" && ENCODING_TYPES.some((t) => t.toLowerCase() === type.toLowerCase())) return null;
  return `class_encoding: type ${JSON.stringify(type)} is not one of ${ENCODING_TYPES.join(", ")}`;
}

/** Multipart class encodings are flattened (remo-reference §2.2): raw text forces type custom. */
function multipartEncoding(fields: Map<string, string>): string | undefined {
  const raw = fields.get("class_encoding_raw_content");
  const type = fields.get("class_encoding_type");
  if (raw) return JSON.stringify({ type: "custom", raw_content: raw.split("\n") });
  return type ? JSON.stringify({ type }) : undefined;
}

/**
 * Remo's upload endpoint (§2.2): multipart `files` streamed to staging, or JSON `urls` / `local_files`; the
 * session is created or appended to, and processing starts on `complete`.
 */
export async function receiveUpload(ctx: ServiceCtx, datasetId: number, req: Request): Promise<{ session_id: string }> {
  const ct = req.headers.get("content-type") ?? "";
  const mediaType = ct.split(";")[0].trim().toLowerCase();
  const multipart = mediaType === "multipart/form-data";
  if (!multipart && mediaType !== "application/json" && mediaType !== "application/x-www-form-urlencoded")
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Not supported payload format: ${ct || "(none)"}`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_REQUEST_BYTES)
    throw new ApiError(
      "PAYLOAD_TOO_LARGE",
      `request body over ${MAX_REQUEST_BYTES} bytes: use direct uploads for big files`,
    );
  await writableDataset(ctx, datasetId, "Only admin can edit public datasets.");
  const query = new URL(req.url).searchParams;

  let input: UploadInput;
  const files: ReceivedFile[] = [];
  if (multipart) {
    const boundary = boundaryOf(ct);
    if (!boundary || !req.body) throw badRequest("multipart body without a boundary");
    const fields = new Map<string, string>();
    const batch = crypto.randomUUID();
    try {
      await parseMultipart(
        req.body,
        boundary,
        {
          field: (name, value) => fields.set(name, value),
          file: async (_field, filename) => {
            const name = filename.replace(/^.*[\\/]/, "") || "file";
            const w = new BlobWriter(
              ctx.env.BUCKET,
              `uploads/${batch}/${files.length}/${name.replace(/[^\w.-]+/g, "_").slice(-100)}`,
            );
            let kind: UploadKind | null = null;
            return {
              write: async (chunk) => {
                kind ??= sniffImageMime(chunk) ? "images" : archiveKind(chunk) ? "archives" : "annotations";
                await w.write(chunk);
              },
              close: async () => {
                const { size, sha256 } = await w.close();
                files.push({ name, key: w.key, size, sha256, kind: kind ?? "annotations" });
              },
              abort: () => w.abort(),
            };
          },
        },
        MAX_REQUEST_BYTES,
      );
    } catch (e) {
      await ctx.env.BUCKET.delete(files.map((f) => f.key)).catch(() => {});
      throw e;
    }
    const get = (k: string) => str(fields.get(k));
    input = {
      session_id: get("session_id"),
      complete: fields.has("complete") ? TRUE.has(fields.get("complete")!) : undefined,
      annotation_task: get("annotation_task"),
      annotation_set_id: get("annotation_set_id"),
      annotation_set_name: get("annotation_set_name"),
      folder_id: get("folder_id"),
      skip_new_classes: fields.has("skip_new_classes") ? TRUE.has(fields.get("skip_new_classes")!) : undefined,
      class_encoding: multipartEncoding(fields),
      urls: [],
      local_files: [],
    };
  } else if (declared > MAX_JSON_BYTES) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `JSON or form body over ${MAX_JSON_BYTES} bytes`);
  } else if (mediaType === "application/json") {
    let raw: unknown;
    try {
      raw = await req.json();
    } catch {
      throw badRequest("Malformed JSON body");
    }
    input = fromJson(raw);
  } else {
    const form = new URLSearchParams(await req.text());
    const obj: Record<string, unknown> = {};
    for (const k of new Set(form.keys())) obj[k] = k === "urls" || k === "local_files" ? form.getAll(k) : form.get(k);
    input = fromJson(obj);
  }
  // Remo reads these from the query string as well (the SDK sends annotation_set_id and folder_id there).
  input.annotation_set_id ??= str(query.get("annotation_set_id"));
  input.folder_id ??= str(query.get("folder_id"));
  input.annotation_task ??= str(query.get("annotation_task"));
  input.session_id ??= str(query.get("session_id"));
  try {
    const problem = classEncodingProblem(input.class_encoding);
    if (problem) throw badRequest(problem, [{ path: "class_encoding", message: problem }]);
    return await recordUpload(ctx, datasetId, input, files);
  } catch (e) {
    await ctx.env.BUCKET.delete(files.map((f) => f.key)).catch(() => {});
    throw e;
  }
}

async function recordUpload(
  ctx: ServiceCtx,
  datasetId: number,
  input: UploadInput,
  files: ReceivedFile[],
): Promise<{ session_id: string }> {
  checkLocalFiles(ctx, input.local_files);
  const settings = await validateSettings(ctx, datasetId, input);
  let sid = input.session_id;
  if (sid) {
    const s = await loadSession(ctx.db, sid);
    if (!s || s.user_id !== ctx.user.id) throw sessionNotFound(sid);
    if (s.dataset_id !== datasetId) throw badRequest(`session_id: ${sid} belongs to another dataset`);
    if (s.status !== "not complete")
      throw new ApiError("CONFLICT", `session_id: ${sid} is already ${s.status}: start a new session`);
  } else sid = (await createSession(ctx, datasetId)).id;

  const statements = [
    sql`UPDATE upload_sessions SET
      annotation_task = COALESCE(${settings.task}, annotation_task),
      annotation_set_id = COALESCE(${settings.setId}, annotation_set_id),
      annotation_set_name = COALESCE(${input.annotation_set_name ?? null}, annotation_set_name),
      folder_id = COALESCE(${settings.folderId}, folder_id),
      skip_new_classes = COALESCE(${input.skip_new_classes === undefined ? null : input.skip_new_classes ? 1 : 0}, skip_new_classes),
      class_encoding = COALESCE(${input.class_encoding ?? null}, class_encoding)
      WHERE id = ${sid}`,
  ];
  const localFiles = localFilesService(ctx.env);
  const rows = [
    ...files.map((f) => ({
      source: "file",
      name: f.name,
      r2_key: f.key,
      url: null as string | null,
      size: f.size,
      sha256: f.sha256 as string | null,
    })),
    ...input.urls.map((u) => ({ source: "url", name: u, r2_key: null, url: u, size: 0, sha256: null })),
    ...input.local_files.map((k) => ({
      // Kept as sent: a path's leading slash is what tells, at ingest, a disk path that is not a key from a key.
      source: localFiles && isAbsolutePath(k) ? LOCAL_PATH : "local",
      name: k,
      r2_key: null,
      url: null,
      size: 0,
      sha256: null,
    })),
  ];
  for (let i = 0; i < rows.length; i += 200) {
    statements.push(sql`INSERT INTO upload_items (session_id, source, name, r2_key, url, size, sha256)
      SELECT ${sid}, j.value ->> 'source', j.value ->> 'name', j.value ->> 'r2_key', j.value ->> 'url', j.value ->> 'size', j.value ->> 'sha256'
      FROM json_each(${JSON.stringify(rows.slice(i, i + 200))}) j`);
  }
  for (const kind of ["images", "archives", "annotations"] as const) {
    const of = files.filter((f) => f.kind === kind);
    if (of.length)
      statements.push(
        countUploaded(
          sid,
          kind,
          of.length,
          of.reduce((n, f) => n + f.size, 0),
        ),
      );
  }
  await runBatch(ctx.env.DB, statements);
  if (input.complete) await completeSession(ctx, sid);
  return { session_id: sid };
}

/**
 * `local_files` entries that name bucket keys must not reach the API's own objects or climb with `..`. Under
 * `npm start`, absolute paths are the user's files instead: the local file service refuses `..`, paths outside its
 * root and symlinks out of it per file, so the session reports each and the rest of the upload goes on.
 */
function checkLocalFiles(ctx: ServiceCtx, entries: string[]) {
  const disk = localFilesService(ctx.env) !== null;
  const issues = entries
    .filter((k) => !(disk && isAbsolutePath(k)))
    .map((k) => ({ k, problem: userKeyProblem(k) }))
    .filter((x) => x.problem)
    .map((x) => ({ path: "local_files", message: `${x.k}: ${x.problem}` }));
  if (issues.length) throw badRequest(`Invalid body: local_files: ${issues[0].message}`, issues);
}

/** Remo's checks of the set, the task and the folder (remo-reference §2.2), with its messages. */
async function validateSettings(ctx: ServiceCtx, datasetId: number, input: UploadInput) {
  let task = input.annotation_task ? parseTask(input.annotation_task) : null;
  if (input.annotation_task && !task) throw badRequest(`Unknown annotation_task: ${input.annotation_task}`);
  let setId: number | null = null;
  if (input.annotation_set_id !== undefined) {
    if (!/^\d+$/.test(input.annotation_set_id)) throw badRequest("Annotation_set_id should be integer value.");
    setId = Number(input.annotation_set_id);
    if (input.annotation_set_name)
      throw badRequest("annotation_set_name can not be used together with annotation_set_id");
    const set = await ctx.env.DB.prepare("SELECT id, task FROM annotation_sets WHERE id = ? AND dataset_id = ?")
      .bind(setId, datasetId)
      .first<{ task: string }>();
    if (!set) throw new ApiError("NOT_FOUND", `Annotation set #${setId} was not found in Dataset #${datasetId}`);
    const setTask = parseTask(set.task) ?? (set.task as ReturnType<typeof parseTask>);
    if (task && setTask && task !== setTask)
      throw badRequest(
        `Annotation set #${setId} task (${taskName(setTask)}) does not match with giving task - ${taskName(task)}`,
      );
    task = setTask;
  }
  let folderId: number | null = null;
  if (input.folder_id !== undefined && /^\d+$/.test(input.folder_id)) {
    // Remo logs and ignores a folder it cannot find.
    const f = await ctx.env.DB.prepare("SELECT id FROM folders WHERE id = ? AND dataset_id = ?")
      .bind(Number(input.folder_id), datasetId)
      .first();
    if (f) folderId = Number(input.folder_id);
  }
  return { task: task ? taskName(task) : null, setId, folderId };
}
