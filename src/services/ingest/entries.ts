import { sql } from "drizzle-orm";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { sniffImageMime } from "../../media/probe";
import { archiveKind, DEFAULT_LIMITS } from "../../storage/archives";
import { BlobWriter, concat } from "../../storage/blobs";
import { enqueue } from "../../storage/queues";
import { imageFromBytes, ImageBatch, MAX_BUFFERED_IMAGE, type IngestTarget } from "./image-ingest";
import { addTasksStatement, eventStatement, sessionError } from "./progress";

/** Annotation files are recognised by extension (Remo collects .json .xml .csv; YOLO adds .txt and data.yaml). */
export const ANNOTATION_EXTENSIONS = /\.(csv|json|xml|txt|ya?ml)$/i;

export interface EntryContext {
  env: Env;
  target: IngestTarget;
  images: ImageBatch;
  /** Whether annotation files can be used (a task or a set is known). */
  annotationsWanted: boolean;
  /** The archive the entries come from (for messages), its item id and nesting depth. */
  archiveName: string;
  itemId: number;
  depth: number;
}

/** An extracted item remembers how deep it sits in `url` (unused for extracted items): `archive-depth:N`. */
export const depthTag = (depth: number) => `archive-depth:${depth}`;
export const depthOf = (url: string | null) => (url?.startsWith("archive-depth:") ? Number(url.slice(14)) : 0);

/**
 * One file out of an archive: images are buffered (bounded) and batched; nested archives and annotation files
 * are streamed to staging and become their own items (nested archives their own queue message, annotation files
 * wait for the annotation phase). `entryKey` is stable across retries so nothing is extracted twice.
 */
export async function handleEntry(
  ctx: EntryContext,
  entryName: string,
  entryKey: string,
  chunks: AsyncIterable<Uint8Array>,
): Promise<void> {
  const it = chunks[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 512) {
    const n = await it.next();
    if (n.done) {
      ended = true;
      break;
    }
    head.push(n.value);
    headLen += n.value.length;
  }
  const first = concat(head, headLen);
  const label = `${ctx.archiveName}/${entryName}`;
  const kind = archiveKind(first);
  const rest = async function* () {
    yield first;
    if (ended) return;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };

  if (sniffImageMime(first)) {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const c of rest()) {
      size += c.length;
      if (size > MAX_BUFFERED_IMAGE) {
        await it.return?.();
        return ctx.images.fail(
          entryName,
          `image larger than ${MAX_BUFFERED_IMAGE} bytes inside an archive: upload it on its own`,
          `big:${label}`,
        );
      }
      parts.push(c);
    }
    const img = await imageFromBytes(entryName, concat(parts, size));
    if (typeof img === "string") return ctx.images.fail(entryName, img, `bad:${label}`);
    return ctx.images.add(img);
  }

  if (kind) {
    if (ctx.depth + 1 > DEFAULT_LIMITS.maxDepth) {
      await it.return?.();
      return sessionError(
        ctx.env,
        ctx.target.sid,
        "archive",
        label,
        `archive nested deeper than ${DEFAULT_LIMITS.maxDepth} levels: not extracted`,
        `deep:${label}`,
      );
    }
    const id = await stageEntry(ctx, entryName, entryKey, rest(), "pending", ctx.depth + 1);
    if (id !== null) {
      await runBatch(ctx.env.DB, [addTasksStatement(ctx.target.sid, 1)]);
      await enqueue(ctx.env.INGEST, { type: "ingest-item", sessionId: ctx.target.sid, itemId: id, from: 0 });
    }
    return;
  }

  if (ANNOTATION_EXTENSIONS.test(entryName)) {
    if (!ctx.annotationsWanted) {
      await it.return?.();
      return warnIgnoredAnnotation(ctx.env, ctx.target.sid, label);
    }
    await stageEntry(ctx, entryName, entryKey, rest(), "deferred", ctx.depth + 1);
    return;
  }
  await it.return?.();
  await sessionError(
    ctx.env,
    ctx.target.sid,
    "file",
    label,
    `${label}: not an image, a supported archive or an annotation file`,
    `unknown:${label}`,
  );
}

export async function warnIgnoredAnnotation(env: Env, sid: string, name: string): Promise<void> {
  await runBatch(env.DB, [
    eventStatement(sid, {
      scope: "session",
      level: "warning",
      type: "file",
      value: name,
      message: `${name}: annotation file ignored, no annotation task or annotation set was given`,
      key: `noann:${name}`,
    }),
  ]);
}

/** Streams an entry to a deterministic staging key and records it as an item once (null if it already was). */
async function stageEntry(
  ctx: EntryContext,
  entryName: string,
  entryKey: string,
  chunks: AsyncIterable<Uint8Array>,
  status: "pending" | "deferred",
  depth: number,
): Promise<number | null> {
  const sid = ctx.target.sid;
  const key = `uploads/${sid}/x/${ctx.itemId}/${entryKey}`;
  const known = await ctx.env.DB.prepare("SELECT id FROM upload_items WHERE session_id = ? AND r2_key = ?")
    .bind(sid, key)
    .first<{ id: number }>();
  if (known) return null;
  const w = new BlobWriter(ctx.env.BUCKET, key, DEFAULT_LIMITS.maxTotal);
  try {
    for await (const c of chunks) await w.write(c);
  } catch (e) {
    await w.abort();
    throw e;
  }
  const { size, sha256 } = await w.close();
  const rows = await runBatch(ctx.env.DB, [
    sql`INSERT INTO upload_items (session_id, source, name, r2_key, url, size, sha256, status)
      SELECT ${sid}, 'extracted', ${entryName}, ${key}, ${depthTag(depth)}, ${size}, ${sha256}, ${status}
      WHERE NOT EXISTS (SELECT 1 FROM upload_items WHERE session_id = ${sid} AND r2_key = ${key}) RETURNING id`,
  ]);
  const row = rows[0].results[0] as { id: number } | undefined;
  return row?.id ?? null;
}
