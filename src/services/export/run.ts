import type { Env } from "../../env";
import { crc32 } from "../../formats/zip-writer";
import { log } from "../../lib/log";
import { countExportImages } from "./pages";
import { EXPORT_TTL_SECONDS, failJob, type ExportJobParams, type JobRow } from "./jobs";
import { exportFile, exportPasses, planExport, toExportSet, type ExportSet } from "./stream";

/**
 * R2 multipart parts: every part but the last must have this one size (R2's rule), and at least 5 MiB. One part
 * is the only buffer the job holds.
 */
export const EXPORT_PART_SIZE = 8 * 1024 * 1024;
const PROGRESS_EVERY_MS = 1000;

/** The job's resume point: the multipart upload and its finished parts (all EXPORT_PART_SIZE bytes long). */
export interface UploadState {
  key: string;
  uploadId: string;
  partSize: number;
  parts: { partNumber: number; etag: string }[];
  /** CRC-32 of the bytes those parts hold, to check a regenerated prefix is the same before resuming after it. */
  prefixCrc: number;
  /** The image id bound the first attempt exported up to; retries keep it so they regenerate the same bytes. */
  maxImageId?: number;
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
  return row ? toExportSet({ ...row, datasetId: row.dataset_id }, row.owner_id) : null;
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
  const saved = job.state ? (JSON.parse(job.state) as UploadState) : null;
  if (saved?.maxImageId !== undefined) plan.scope.maxImageId = saved.maxImageId;
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
    await env.DB.prepare(
      "UPDATE jobs SET progress_done = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1",
    )
      .bind(jobId, Math.min(done, total))
      .run();
  };
  const file = exportFile(env.DB, plan, onPage);
  const key = `exports/${jobId}/${file.fileName}`;
  const partSize = opts.partSize ?? EXPORT_PART_SIZE;

  let state = saved;
  if (state && (state.key !== key || state.partSize !== partSize)) {
    await env.BUCKET.resumeMultipartUpload(state.key, state.uploadId)
      .abort()
      .catch(() => {});
    state = null;
  }
  let upload: R2MultipartUpload;
  if (state) {
    upload = env.BUCKET.resumeMultipartUpload(key, state.uploadId);
  } else {
    upload = await env.BUCKET.createMultipartUpload(key, {
      httpMetadata: { contentType: file.contentType, contentDisposition: file.disposition },
    });
    state = { key, uploadId: upload.uploadId, partSize, parts: [], prefixCrc: 0, maxImageId: plan.scope.maxImageId };
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
