import { sql } from "drizzle-orm";
import { runBatch } from "../../lib/d1";
import { ApiError, badRequest, notFound } from "../../lib/errors";
import { presignR2Put } from "../../lib/sigv4";
import { sniffImageMime } from "../../media/probe";
import { archiveKind } from "../../storage/archives";
import { BlobTooLarge, BlobWriter, imageKey } from "../../storage/blobs";
import type { ServiceCtx } from "../context";
import { countUploaded, ownSession, type SessionRow } from "./upload-sessions";

/** Remo's own cap on one uploaded file. */
export const MAX_DIRECT_BYTES = 5 * 1024 * 1024 * 1024;

export interface DirectFile {
  name: string;
  size: number;
  content_type?: string;
  sha256?: string;
}

async function openSession(ctx: ServiceCtx, sid: string): Promise<SessionRow> {
  const s = await ownSession(ctx, sid);
  if (s.status !== "not complete")
    throw new ApiError("CONFLICT", `session_id: ${sid} is already ${s.status}: start a new session`);
  return s;
}

/**
 * Per file: `exists` when those bytes are already stored and readable by the caller (nothing to send; the file still joins the session
 * unless the dataset has it under the same name), else where to PUT it: a presigned R2 URL when the S3
 * credentials are configured, otherwise the Worker's streaming blob route.
 */
export async function planDirectUploads(ctx: ServiceCtx, sid: string, files: DirectFile[]) {
  const s = await openSession(ctx, sid);
  const out = [];
  for (const f of files) {
    const name = f.name.replace(/^.*[\\/]/, "");
    if (!name) throw badRequest("files: every file needs a name");
    if (f.size > MAX_DIRECT_BYTES)
      throw badRequest(`${name}: ${f.size} bytes is over the ${MAX_DIRECT_BYTES} byte limit`);
    const sha = f.sha256?.toLowerCase();
    if (sha) {
      const inDataset = await ctx.env.DB.prepare(
        "SELECT 1 FROM images WHERE dataset_id = ? AND sha256 = ? AND original_name = ?",
      )
        .bind(s.dataset_id, sha, name)
        .first();
      if (inDataset) {
        out.push({ name, status: "exists" as const });
        continue;
      }
      // Knowing a hash is not owning the bytes: `exists` only for bytes the caller can already read (an image
      // in one of its datasets or a public one). Anything else is uploaded, and still stored once.
      // Datasets in D1 by their image rows; datasets served by their DatasetStores by D1's blob_refs (issue 13).
      // Inside an object the first statement sees only its own dataset's rows; the second sees every object's.
      const readable =
        (await ctx.env.DB.prepare(
          "SELECT 1 FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE i.sha256 = ? AND (d.owner_id = ? OR d.is_public = 1) LIMIT 1",
        )
          .bind(sha, ctx.user.id)
          .first()) ??
        (await ctx.env.DB.prepare(
          "SELECT 1 FROM blob_refs r JOIN datasets d ON d.id = r.dataset_id WHERE r.r2_key = ? AND (d.owner_id = ? OR d.is_public = 1) LIMIT 1",
        )
          .bind(imageKey(sha), ctx.user.id)
          .first());
      const stored = readable ? await ctx.env.BUCKET.head(imageKey(sha)) : null;
      if (stored) {
        await runBatch(ctx.env.DB, [
          sql`INSERT INTO upload_items (session_id, source, name, r2_key, size, sha256, status) VALUES (${sid}, 'direct', ${name}, ${imageKey(sha)}, ${stored.size}, ${sha}, 'pending')`,
        ]);
        out.push({ name, status: "exists" as const });
        continue;
      }
    }
    const key = `uploads/${sid}/d/${crypto.randomUUID()}/${name.replace(/[^\w.-]+/g, "_").slice(-100)}`;
    const [res] = await runBatch(ctx.env.DB, [
      sql`INSERT INTO upload_items (session_id, source, name, r2_key, size, sha256, status)
        VALUES (${sid}, 'direct', ${name}, ${key}, ${f.size}, ${sha ?? null}, 'awaiting') RETURNING id`,
    ]);
    const itemId = (res.results[0] as { id: number }).id;
    const presigned = await presignR2Put(ctx.env, key);
    out.push({
      name,
      status: "upload" as const,
      item_id: itemId,
      method: "PUT" as const,
      url: presigned ?? `/api/v1/uploads/${sid}/blobs/${itemId}/`,
      presigned: presigned !== null,
    });
  }
  return { session_id: sid, files: out };
}

/** The Worker-side target: the body streams into R2 (multipart past one part), never held whole. */
export async function receiveBlob(
  ctx: ServiceCtx,
  sid: string,
  itemId: number,
  body: ReadableStream<Uint8Array> | null,
) {
  await openSession(ctx, sid);
  const item = await ctx.env.DB.prepare(
    "SELECT id, r2_key, size, status FROM upload_items WHERE id = ? AND session_id = ? AND source = 'direct'",
  )
    .bind(itemId, sid)
    .first<{ id: number; r2_key: string; size: number; status: string }>();
  if (!item) throw notFound();
  if (item.status !== "awaiting") throw new ApiError("CONFLICT", "this file was already received");
  if (!body) throw badRequest("empty body");
  const w = new BlobWriter(ctx.env.BUCKET, item.r2_key, Math.min(MAX_DIRECT_BYTES, item.size || MAX_DIRECT_BYTES));
  let kind: "images" | "archives" | "annotations" | null = null;
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      kind ??= sniffImageMime(chunk) ? "images" : archiveKind(chunk) ? "archives" : "annotations";
      await w.write(chunk);
    }
  } catch (e) {
    await w.abort();
    if (e instanceof BlobTooLarge)
      throw new ApiError("PAYLOAD_TOO_LARGE", `body is larger than the announced ${item.size} bytes`);
    throw e;
  }
  const { size, sha256 } = await w.close();
  if (item.size && size !== item.size) {
    await ctx.env.BUCKET.delete(item.r2_key);
    throw badRequest(`received ${size} bytes, ${item.size} were announced`);
  }
  await runBatch(ctx.env.DB, [
    sql`UPDATE upload_items SET status = 'pending', size = ${size}, sha256 = ${sha256} WHERE id = ${item.id} AND status = 'awaiting'`,
    sql`${countUploaded(sid, kind ?? "annotations", 1, size)} AND changes() = 1`,
  ]);
  return { item_id: item.id, size, sha256 };
}
