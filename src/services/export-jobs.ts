import type { Env } from "../env";
import { crc32 } from "../formats/zip-writer";
import { ApiError } from "../lib/errors";
import { log } from "../lib/log";
import { signPath } from "../lib/signing";
import { parseTask, taskName } from "../lib/task";
import { enqueue } from "../storage/queues";
import type { ServiceCtx } from "./context";
import { exporterExists, type ExportParams } from "./export-params";
import { countExportImages } from "./export-pages";
import { exportFile, exportPasses, planExport, readableSet, type ExportSet } from "./export-stream";

/** How long a finished export (and its download link) lives before the sweep deletes it. */
export const EXPORT_TTL_SECONDS = 7 * 24 * 3600;
/**
 * R2 multipart parts: every part but the last must have this one size (R2's rule), and at least 5 MiB. One part
 * is the only buffer the job holds.
 */
export const EXPORT_PART_SIZE = 8 * 1024 * 1024;
const PROGRESS_EVERY_MS = 1000;

export interface JobRow {
  id: number;
  user_id: number;
  dataset_id: number | null;
  kind: string;
  status: "queued" | "running" | "done" | "failed";
  progress_done: number;
  progress_total: number;
  error: string | null;
  params: string;
  dedupe_key: string | null;
  result_key: string | null;
  result_size: number | null;
  result_name: string | null;
  result_type: string | null;
  state: string | null;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
}

interface ExportJobParams extends ExportParams {
  setId: number;
}

/** The job's resume point: the multipart upload and its finished parts (all EXPORT_PART_SIZE bytes long). */
interface UploadState {
  key: string;
  uploadId: string;
  partSize: number;
  parts: { partNumber: number; etag: string }[];
  /** CRC-32 of the bytes those parts hold, to check a regenerated prefix is the same before resuming after it. */
  prefixCrc: number;
}

export function downloadPath(jobId: number, name: string): string {
  return `/files/exports/${jobId}/${encodeURIComponent(name)}`;
}

/** A job as `GET /api/v1/jobs/{id}` shows it; the download URL is signed until the export expires. */
export async function jobView(env: Pick<Env, "SIGNING_SECRET">, job: JobRow) {
  let downloadUrl: string | null = null;
  const expiresMs = job.expires_at ? Date.parse(job.expires_at) : NaN;
  if (job.status === "done" && job.result_key && job.result_name && expiresMs > Date.now()) {
    downloadUrl = await signPath(env, downloadPath(job.id, job.result_name), Math.floor(expiresMs / 1000));
  }
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    progress: { done: job.progress_done, total: job.progress_total },
    error: job.error,
    download_url: downloadUrl,
    expires_at: job.expires_at,
    file_name: job.result_name,
    size: job.result_size,
    created_at: job.created_at,
    updated_at: job.updated_at,
  };
}

/** Another user's job is a 404, the same answer as a missing one. */
export async function getJob(ctx: ServiceCtx, id: number): Promise<JobRow> {
  const job = await ctx.env.DB.prepare("SELECT * FROM jobs WHERE id = ?1 AND user_id = ?2").bind(id, ctx.user.id).first<JobRow>();
  if (!job) throw new ApiError("NOT_FOUND", "Not found.");
  return job;
}

/**
 * Queues an export of a set. Identical requests (same user, set and parameters) while one is queued or running
 * share it: the insert is conditional in one statement, so two racing requests cannot both create a job.
 */
export async function createExportJob(ctx: ServiceCtx, setId: number, params: ExportParams): Promise<{ job: JobRow; created: boolean }> {
  const set = await readableSet(ctx, setId);
  if (!exporterExists(set.task, params.format)) {
    throw new ApiError("NOT_FOUND", `Exporter for ${taskName(set.task)} task in format ${params.format} not implemented`);
  }
  const jobParams: ExportJobParams = { setId, ...params };
  const dedupeKey = `export:${ctx.user.id}:${setId}:${JSON.stringify(params)}`;
  const inserted = await ctx.env.DB.prepare(
    "INSERT INTO jobs (user_id, dataset_id, kind, params, dedupe_key) SELECT ?1, ?2, 'export', ?3, ?4 " +
      "WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE dedupe_key = ?4 AND status IN ('queued', 'running')) RETURNING *",
  )
    .bind(ctx.user.id, set.datasetId, JSON.stringify(jobParams), dedupeKey)
    .first<JobRow>();
  if (!inserted) {
    const running = await ctx.env.DB.prepare("SELECT * FROM jobs WHERE dedupe_key = ?1 AND status IN ('queued', 'running') ORDER BY id LIMIT 1")
      .bind(dedupeKey)
      .first<JobRow>();
    if (running) return { job: running, created: false };
    return createExportJob(ctx, setId, params); // it finished between the two statements
  }
  try {
    await enqueue(ctx.env.EXPORTS, { type: "export", jobId: inserted.id });
  } catch (e) {
    await failJob(ctx.env, inserted.id, "could not queue the export");
    throw new ApiError("UNAVAILABLE", "The export queue is unavailable; try again.");
  }
  return { job: inserted, created: true };
}

async function failJob(env: Env, jobId: number, message: string) {
  await env.DB.prepare("UPDATE jobs SET status = 'failed', error = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1")
    .bind(jobId, message)
    .run();
}

async function saveState(env: Env, jobId: number, state: UploadState | null) {
  await env.DB.prepare("UPDATE jobs SET state = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1")
    .bind(jobId, state ? JSON.stringify(state) : null)
    .run();
}

async function jobSet(env: Env, setId: number): Promise<ExportSet | null> {
  const row = await env.DB.prepare(
    "SELECT s.id, s.name, s.task, s.dataset_id, d.owner_id FROM annotation_sets s JOIN datasets d ON d.id = s.dataset_id WHERE s.id = ?1",
  )
    .bind(setId)
    .first<{ id: number; name: string; task: string; dataset_id: number; owner_id: number }>();
  if (!row) return null;
  return { id: row.id, name: row.name, task: parseTask(row.task) ?? "object_detection", datasetId: row.dataset_id, ownerId: row.owner_id };
}

/**
 * The EXPORTS queue consumer's work: stream the export into an R2 multipart upload, one fixed-size part at a time.
 * On a retry the finished parts are kept: the export is regenerated (it is deterministic for unchanged data), the
 * bytes those parts already hold are skipped after checking their CRC, and the upload goes on from the next part.
 * If the data changed in between, the CRC differs and the upload starts over.
 */
export async function runExportJob(env: Env, jobId: number, opts: { partSize?: number } = {}): Promise<void> {
  const job = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(jobId).first<JobRow>();
  if (!job || job.kind !== "export" || job.status === "done" || job.status === "failed") return;
  const params = JSON.parse(job.params) as ExportJobParams;
  const set = await jobSet(env, params.setId);
  if (!set) return failJob(env, jobId, "The annotation set no longer exists.");
  const plan = await planExport(env.DB, set, params);
  const total = (await countExportImages(env.DB, plan.scope)) * exportPasses(params);
  await env.DB.prepare(
    "UPDATE jobs SET status = 'running', progress_total = ?2, progress_done = 0, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
  )
    .bind(jobId, total)
    .run();

  let done = 0;
  let lastWrite = Date.now();
  const onPage = async (n: number) => {
    done += n;
    if (Date.now() - lastWrite < PROGRESS_EVERY_MS) return;
    lastWrite = Date.now();
    await env.DB.prepare("UPDATE jobs SET progress_done = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1")
      .bind(jobId, Math.min(done, total))
      .run();
  };
  const file = exportFile(env.DB, plan, onPage);
  const key = `exports/${jobId}/${file.fileName}`;
  const partSize = opts.partSize ?? EXPORT_PART_SIZE;

  let state = job.state ? (JSON.parse(job.state) as UploadState) : null;
  if (state && (state.key !== key || state.partSize !== partSize)) {
    await env.BUCKET.resumeMultipartUpload(state.key, state.uploadId).abort().catch(() => {});
    state = null;
  }
  let upload: R2MultipartUpload;
  if (state) {
    upload = env.BUCKET.resumeMultipartUpload(key, state.uploadId);
  } else {
    upload = await env.BUCKET.createMultipartUpload(key, { httpMetadata: { contentType: file.contentType, contentDisposition: file.disposition } });
    state = { key, uploadId: upload.uploadId, partSize, parts: [], prefixCrc: 0 };
    await saveState(env, jobId, state);
  }

  let skip = state.parts.length * partSize;
  let skippedCrc = 0;
  let part = new Uint8Array(partSize);
  let fill = 0;
  let size = skip;
  const flush = async (bytes: Uint8Array) => {
    const uploaded = await upload.uploadPart(state!.parts.length + 1, bytes);
    state!.parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
    state!.prefixCrc = crc32(bytes, state!.prefixCrc);
    await saveState(env, jobId, state);
  };

  for await (let chunk of file.body) {
    if (skip > 0) {
      const n = Math.min(skip, chunk.length);
      skippedCrc = crc32(chunk.subarray(0, n), skippedCrc);
      skip -= n;
      chunk = chunk.subarray(n);
      if (skip === 0 && skippedCrc !== state.prefixCrc) {
        log("warn", String(jobId), "export data changed since the last attempt; restarting the upload");
        await upload.abort().catch(() => {});
        await saveState(env, jobId, null);
        throw new Error("export data changed between attempts; restarting");
      }
      if (!chunk.length) continue;
    }
    size += chunk.length;
    while (chunk.length) {
      const n = Math.min(partSize - fill, chunk.length);
      part.set(chunk.subarray(0, n), fill);
      fill += n;
      chunk = chunk.subarray(n);
      if (fill === partSize) {
        await flush(part);
        part = new Uint8Array(partSize);
        fill = 0;
      }
    }
  }
  if (skip > 0) {
    // The regenerated export is shorter than what was uploaded: the data changed.
    await upload.abort().catch(() => {});
    await saveState(env, jobId, null);
    throw new Error("export data changed between attempts; restarting");
  }
  if (fill > 0 || !state.parts.length) await flush(part.subarray(0, fill));
  const obj = await upload.complete(state.parts);
  const expiresAt = new Date(Date.now() + EXPORT_TTL_SECONDS * 1000).toISOString();
  await env.DB.prepare(
    "UPDATE jobs SET status = 'done', progress_done = progress_total, result_key = ?2, result_size = ?3, result_name = ?4, result_type = ?5, " +
      "expires_at = ?6, state = NULL, error = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
  )
    .bind(jobId, key, obj.size ?? size, file.fileName, file.contentType, expiresAt)
    .run();
}

/** Retries exhausted: the job says failed, and its unfinished upload is dropped. */
export async function failExportJob(env: Env, jobId: number): Promise<void> {
  const job = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(jobId).first<JobRow>();
  if (!job || job.status === "done") return;
  if (job.state) {
    const s = JSON.parse(job.state) as UploadState;
    await env.BUCKET.resumeMultipartUpload(s.key, s.uploadId).abort().catch(() => {});
  }
  await env.DB.prepare("UPDATE jobs SET status = 'failed', state = NULL, error = COALESCE(error, ?2), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1")
    .bind(jobId, "The export failed after several attempts.")
    .run();
}

/** Deletes the files of expired exports (their links are already refused); the job rows stay, without a file. */
export async function expireExports(env: Env, now = new Date()): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < 50; round++) {
    const rows = (
      await env.DB.prepare("SELECT id, result_key FROM jobs WHERE kind = 'export' AND result_key IS NOT NULL AND expires_at < ?1 ORDER BY expires_at LIMIT 100")
        .bind(now.toISOString())
        .all<{ id: number; result_key: string }>()
    ).results;
    if (!rows.length) break;
    await env.BUCKET.delete(rows.map((r) => r.result_key));
    await env.DB.prepare("UPDATE jobs SET result_key = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id IN (SELECT value FROM json_each(?1))")
      .bind(JSON.stringify(rows.map((r) => r.id)))
      .run();
    deleted += rows.length;
    if (rows.length < 100) break;
  }
  return deleted;
}

export type ByteRange = { offset: number; length: number };

/** A single `bytes=` range against `size`: null = serve the whole file (absent, malformed or multi-range). */
export function parseRange(header: string | null | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { offset: Math.max(0, size - n), length: Math.min(n, size) };
  }
  const start = Number(m[1]);
  if (start >= size) return "unsatisfiable";
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return null;
  return { offset: start, length: end - start + 1 };
}

/** The finished export behind a signed download path, or null (unknown job, other name, or already swept). */
export async function exportObjectKey(env: Env, jobId: number, name: string): Promise<{ key: string; name: string; type: string } | null> {
  const job = await env.DB.prepare("SELECT status, result_key, result_name, result_type FROM jobs WHERE id = ?1 AND kind = 'export'")
    .bind(jobId)
    .first<{ status: string; result_key: string | null; result_name: string | null; result_type: string | null }>();
  if (!job || job.status !== "done" || !job.result_key || job.result_name !== name) return null;
  return { key: job.result_key, name: job.result_name, type: job.result_type ?? "application/octet-stream" };
}
