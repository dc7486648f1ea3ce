import { sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { safeFetch, UrlRefused } from "../../lib/ssrf";
import { archiveKind, ArchiveError } from "../../storage/archives";
import { readRange } from "../../storage/blobs";
import { imageFromObject, ImageBatch } from "./image-ingest";
import { processGzip, processTar, processZip } from "./archive";
import { ANNOTATION_EXTENSIONS, depthOf, warnIgnoredAnnotation, type EntryContext } from "./entries";
import { addTasksStatement, finishTask, sessionError } from "./progress";
import { enqueue } from "../../storage/queues";
import { sniffImageMime } from "../../media/probe";
import { countUploaded, loadSession, type UploadKind } from "./upload-sessions";
import { fetchLocalFile, LOCAL_FILE, NOT_ON_THIS_SERVER } from "./local-files";
import { alreadyStaged, describeFailure, stageResponse } from "./download";
import { isAbsolutePath } from "../../storage/local-files";

export interface ItemRow {
  id: number;
  session_id: string;
  source: string;
  name: string;
  r2_key: string | null;
  url: string | null;
  size: number;
  status: string;
}

/** URL downloads: bounded in time and size (a URL is a session error, never a failed request). */
export const URL_TIMEOUT_MS = 30_000;
export const URL_MAX_BYTES = 1024 * 1024 * 1024;

/** Outbound policy knobs; tests shorten the timeout (the fetch itself they stub on globalThis). */
export const outbound = { timeoutMs: URL_TIMEOUT_MS, maxBytes: URL_MAX_BYTES };

export async function loadItem(env: Env, id: number): Promise<ItemRow | null> {
  return env.DB.prepare("SELECT * FROM upload_items WHERE id = ?").bind(id).first<ItemRow>();
}

/** Downloads a URL item into staging (once: a retry finds the object), or records why it could not be. */
async function fetchUrl(env: Env, sid: string, item: ItemRow): Promise<{ key: string; size: number } | null> {
  const staged = await alreadyStaged(env, item);
  if (staged) return staged;
  const url = item.url ?? item.name;
  const fail = (why: string) =>
    sessionError(env, sid, "url", url, `Failed download from URL, error: ${why}`, `url:${item.id}`).then(() => null);
  let res: Response;
  try {
    res = await safeFetch(url, {
      allowPrivate: env.INGEST_ALLOW_PRIVATE_NETWORKS === "true",
      timeoutMs: outbound.timeoutMs,
    });
  } catch (e) {
    if (e instanceof UrlRefused) return fail(e.message);
    return fail(describeFailure(e, outbound.timeoutMs));
  }
  if (!res.ok) {
    await res.body?.cancel();
    return fail(`HTTP ${res.status}`);
  }
  const fileName = decodeURIComponent(new URL(url).pathname.split("/").pop() || "download") || "download";
  const got = await stageResponse(env, sid, item, res, fileName, outbound);
  return typeof got === "string" ? fail(got) : got;
}

/** Counts bytes that arrive through the queue (URLs, bucket objects) once, on the item's first processing. */
async function countArrival(env: Env, sid: string, item: ItemRow, kind: UploadKind, size: number) {
  await runBatch(env.DB, [
    sql`UPDATE upload_items SET status = 'processing' WHERE id = ${item.id} AND status = 'pending'`,
    sql`${countUploaded(sid, kind, 1, size)} AND changes() = 1`,
  ]);
}

/** One received item (or one slice of a big zip): image, archive, annotation file to defer, or an error. */
export async function ingestItem(env: Env, msg: { sessionId: string; itemId: number; from: number }): Promise<void> {
  const sid = msg.sessionId;
  const taskKey = `item:${msg.itemId}:${msg.from}`;
  const [s, item] = await Promise.all([loadSession(createDb(env.DB), sid), loadItem(env, msg.itemId)]);
  if (!s || s.status !== "in progress") return;
  if (!item || item.session_id !== sid || item.status === "done" || item.status === "deferred")
    return finishTask(env, sid, taskKey);
  const target = { sid, datasetId: s.dataset_id, folderId: s.folder_id };
  const images = new ImageBatch(env, target);
  const annotationsWanted = !!(s.annotation_task || s.annotation_set_id);

  let key = item.r2_key;
  let size = item.size;
  const linked = item.source === "local";
  if (item.source === "url" || item.source === LOCAL_FILE) {
    const got =
      item.source === "url" ? await fetchUrl(env, sid, item) : await fetchLocalFile(env, sid, item, outbound.maxBytes);
    if (!got) return done(env, sid, item, taskKey, "failed");
    ({ key, size } = got);
  } else if (linked) {
    // Deployed, an absolute path is kept as sent (so its error can say what it is) and read as the key it names.
    key = item.name.replace(/^\/+/, "");
    const head = await env.BUCKET.head(key);
    if (!head) {
      const why = isAbsolutePath(item.name) ? NOT_ON_THIS_SERVER : "no such object in the bucket";
      await sessionError(env, sid, "file", item.name, `${item.name}: ${why}`, `missing:${item.id}`);
      return done(env, sid, item, taskKey, "failed");
    }
    size = head.size;
  }
  if (!key) return done(env, sid, item, taskKey, "failed");

  if (!size) {
    // A ranged read of an empty object is an R2 error, and there is nothing to ingest anyway.
    await sessionError(env, sid, "file", item.name, `${item.name}: empty file`, `empty:${item.id}`);
    return done(env, sid, item, taskKey, "failed");
  }
  const head = await readRange(env.BUCKET, key, 0, Math.min(512, size));
  const arrives = item.source === "url" || item.source === LOCAL_FILE || linked;
  const kind = archiveKind(head);
  if (sniffImageMime(head)) {
    if (arrives) await countArrival(env, sid, item, "images", size);
    const img = await imageFromObject(env, item.name, key, size, linked);
    if (typeof img === "string") await images.fail(item.name, img, `bad:${item.id}`);
    else await images.add(img);
    await images.flush();
    return done(env, sid, item, taskKey, "done");
  }
  if (kind) {
    if (arrives && msg.from === 0) await countArrival(env, sid, item, "archives", size);
    // Entries are stored at their content address even when the archive itself is a linked bucket object.
    const ctx: EntryContext = {
      env,
      target,
      images,
      annotationsWanted,
      archiveName: item.name.replace(/^.*\//, ""),
      itemId: item.id,
      depth: depthOf(item.url),
    };
    try {
      let next: number | null = null;
      if (kind === "zip") next = await processZip(ctx, key, size, msg.from);
      else if (kind === "tar" || kind === "gzip") {
        // Plain tar resumes by byte offset (ranged read); gzip has no random access, so it resumes by entry index.
        const obj = await env.BUCKET.get(key, kind === "tar" && msg.from ? { range: { offset: msg.from } } : undefined);
        if (!obj) throw new ArchiveError("archive object is gone");
        const body = obj.body as ReadableStream<Uint8Array>;
        next =
          kind === "tar"
            ? await processTar(ctx, body, { resume: "offset", base: msg.from, skip: 0 })
            : await processGzip(ctx, body, msg.from);
        if (next !== null) {
          await runBatch(env.DB, [addTasksStatement(sid, 1)]);
          await enqueue(env.INGEST, { type: "ingest-item", sessionId: sid, itemId: item.id, from: next });
        }
      } else throw new ArchiveError(`${kind} archives are not supported (use zip, tar, tar.gz or gz)`);
      if (next !== null) return finishTask(env, sid, taskKey);
    } catch (e) {
      if (!(e instanceof ArchiveError) && !(e instanceof TypeError)) throw e;
      await images.flush().catch(() => {});
      await sessionError(env, sid, "archive", item.name, `${item.name}: ${e.message}`, `archive:${item.id}`);
      return done(env, sid, item, taskKey, "failed");
    }
    return done(env, sid, item, taskKey, "done");
  }
  if (ANNOTATION_EXTENSIONS.test(item.name)) {
    if (arrives) await countArrival(env, sid, item, "annotations", size);
    if (!annotationsWanted) {
      await warnIgnoredAnnotation(env, sid, item.name);
      return done(env, sid, item, taskKey, "done");
    }
    await env.DB.prepare("UPDATE upload_items SET status = 'deferred', r2_key = ? WHERE id = ?")
      .bind(key, item.id)
      .run();
    return finishTask(env, sid, taskKey);
  }
  await sessionError(
    env,
    sid,
    "file",
    item.name,
    `${item.name}: not an image, a supported archive or an annotation file`,
    `unknown:${item.id}`,
  );
  return done(env, sid, item, taskKey, "failed");
}

async function done(env: Env, sid: string, item: ItemRow, taskKey: string, status: "done" | "failed") {
  await env.DB.prepare("UPDATE upload_items SET status = ? WHERE id = ? AND status NOT IN ('done', 'deferred')")
    .bind(status, item.id)
    .run();
  await finishTask(env, sid, taskKey);
}
