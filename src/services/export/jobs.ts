import type { Env } from "../../env";
import { ApiError } from "../../lib/errors";
import { signPath } from "../../lib/signing";
import { taskName } from "../../lib/task";
import { enqueue } from "../../storage/queues";
import type { ServiceCtx } from "../context";
import { exporterExists, type ExportParams } from "./params";
import { downloadPath } from "./download";
import type { UploadState } from "./run";
import { readableExportSet } from "./stream";

/** How long a finished export (and its download link) lives before the sweep deletes it. */
export const EXPORT_TTL_SECONDS = 7 * 24 * 3600;

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

export interface ExportJobParams extends ExportParams {
  setId: number;
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
  const job = await ctx.env.DB.prepare("SELECT * FROM jobs WHERE id = ?1 AND user_id = ?2")
    .bind(id, ctx.user.id)
    .first<JobRow>();
  if (!job) throw new ApiError("NOT_FOUND", "Not found.");
  return job;
}

/**
 * Queues an export of a set. Identical requests (same user, set and parameters) while one is queued or running
 * share it: the insert is conditional in one statement, so two racing requests cannot both create a job.
 */
export async function createExportJob(
  ctx: ServiceCtx,
  setId: number,
  params: ExportParams,
): Promise<{ job: JobRow; created: boolean }> {
  const set = await readableExportSet(ctx, setId);
  if (!exporterExists(set.task, params.format)) {
    throw new ApiError(
      "NOT_FOUND",
      `Exporter for ${taskName(set.task)} task in format ${params.format} not implemented`,
    );
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
    const running = await ctx.env.DB.prepare(
      "SELECT * FROM jobs WHERE dedupe_key = ?1 AND status IN ('queued', 'running') ORDER BY id LIMIT 1",
    )
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

export async function failJob(env: Env, jobId: number, message: string) {
  await env.DB.prepare(
    "UPDATE jobs SET status = 'failed', error = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
  )
    .bind(jobId, message)
    .run();
}

/** Retries exhausted: the job says failed, and its unfinished upload is dropped. */
export async function failExportJob(env: Env, jobId: number): Promise<void> {
  const job = await env.DB.prepare("SELECT * FROM jobs WHERE id = ?1").bind(jobId).first<JobRow>();
  if (!job || job.status === "done") return;
  if (job.state) {
    const s = JSON.parse(job.state) as UploadState;
    await env.BUCKET.resumeMultipartUpload(s.key, s.uploadId)
      .abort()
      .catch(() => {});
  }
  await env.DB.prepare(
    "UPDATE jobs SET status = 'failed', state = NULL, error = COALESCE(error, ?2), updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
  )
    .bind(jobId, "The export failed after several attempts.")
    .run();
}

/** Deletes the files of expired exports (their links are already refused); the job rows stay, without a file. */
export async function expireExports(env: Env, now = new Date()): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < 50; round++) {
    const rows = (
      await env.DB.prepare(
        "SELECT id, result_key FROM jobs WHERE kind = 'export' AND result_key IS NOT NULL AND expires_at < ?1 ORDER BY expires_at LIMIT 100",
      )
        .bind(now.toISOString())
        .all<{ id: number; result_key: string }>()
    ).results;
    if (!rows.length) break;
    await env.BUCKET.delete(rows.map((r) => r.result_key));
    await env.DB.prepare(
      "UPDATE jobs SET result_key = NULL, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id IN (SELECT value FROM json_each(?1))",
    )
      .bind(JSON.stringify(rows.map((r) => r.id)))
      .run();
    deleted += rows.length;
    if (rows.length < 100) break;
  }
  return deleted;
}
