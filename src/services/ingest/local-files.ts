import { sql } from "drizzle-orm";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { listLocalFiles, localFilesService, openLocalFile } from "../../storage/local-files";
import { alreadyStaged, stageResponse } from "./download";
import type { ItemRow } from "./item";
import { recordEvents, sessionError } from "./progress";

/**
 * Remo's `local_files` on a server that runs on the user's machine (`npm start`): an absolute path is a file or
 * folder on their disk, read through the local file service (storage/local-files.ts). A requested path is an item
 * of source LOCAL_PATH; planning lists it (folders recursively) into one LOCAL_FILE item per file, and each of those
 * is downloaded into staging as a URL is, then ingested as an uploaded file (copied, not linked: a Worker serves
 * images from R2, not from the user's disk).
 */
export const LOCAL_PATH = "disk";
export const LOCAL_FILE = "disk-file";

/** How many files one requested path may expand to (as a bucket prefix). */
export const MAX_LOCAL_FILES = 100_000;

/** Deployed, an absolute path that is not a bucket key: what it is, and what to do instead. */
export const NOT_ON_THIS_SERVER =
  "not a key in this server's bucket, and this server cannot read files on your disk: upload them with " +
  "paths_to_upload instead (or put them in the bucket and pass their keys)";

/** A local file is read at disk speed, but may be a 1 GiB archive. */
const LOCAL_TIMEOUT_MS = 600_000;

const NO_SERVICE = "this server has no local file service (only `npm start` reads files from disk)";

/** Lists every requested path into file items; refusals (outside the root, `..`, symlinks out) are per-file errors. */
export async function expandLocalPaths(env: Env, sid: string): Promise<void> {
  const requested = await env.DB.prepare(
    "SELECT id, name FROM upload_items WHERE session_id = ? AND source = ? AND status = 'pending' ORDER BY id",
  )
    .bind(sid, LOCAL_PATH)
    .all<{ id: number; name: string }>();
  if (!requested.results.length) return;
  const svc = localFilesService(env);
  for (const p of requested.results) {
    // A retried expansion starts over: the file items an earlier attempt listed from this path go first. They
    // name it in `url` (unused for local files otherwise), since two paths may overlap and names cannot tell.
    const from = `${LOCAL_PATH}:${p.id}`;
    await env.DB.prepare("DELETE FROM upload_items WHERE session_id = ? AND source = ? AND url = ?")
      .bind(sid, LOCAL_FILE, from)
      .run();
    const listing = svc
      ? await listLocalFiles(svc, p.name, MAX_LOCAL_FILES)
      : { files: [], errors: [{ path: p.name, error: `${p.name}: ${NO_SERVICE}` }], truncated: false };
    for (let i = 0; i < listing.files.length; i += 500)
      await runBatch(env.DB, [
        sql`INSERT INTO upload_items (session_id, source, name, size, url)
          SELECT ${sid}, ${LOCAL_FILE}, j.value ->> 'path', j.value ->> 'size', ${from}
          FROM json_each(${JSON.stringify(listing.files.slice(i, i + 500))}) j`,
      ]);
    const errors = listing.errors.map((e, n) => ({
      scope: "session" as const,
      level: "error" as const,
      type: "file",
      value: e.path,
      message: e.error,
      key: `local:${p.id}:${n}`,
    }));
    if (listing.truncated)
      errors.push({
        scope: "session",
        level: "error",
        type: "file",
        value: p.name,
        message: `${p.name}: more than ${MAX_LOCAL_FILES} files; only the first ${MAX_LOCAL_FILES} were read`,
        key: `local:${p.id}:truncated`,
      });
    else if (!listing.files.length && !listing.errors.length)
      errors.push({
        scope: "session",
        level: "error",
        type: "file",
        value: p.name,
        message: `${p.name}: no files in this folder`,
        key: `local:${p.id}:empty`,
      });
    await recordEvents(env, sid, errors);
    await env.DB.prepare("UPDATE upload_items SET status = 'done' WHERE id = ?").bind(p.id).run();
  }
}

/** Downloads one listed file into staging (once: a retry finds the object), or records why it could not be. */
export async function fetchLocalFile(
  env: Env,
  sid: string,
  item: ItemRow,
  maxBytes: number,
): Promise<{ key: string; size: number } | null> {
  const staged = await alreadyStaged(env, item);
  if (staged) return staged;
  const path = item.name;
  const fail = (why: string) =>
    sessionError(env, sid, "file", path, `${path}: ${why}`, `local-file:${item.id}`).then(() => null);
  const svc = localFilesService(env);
  if (!svc) return fail(NO_SERVICE);
  const res = await openLocalFile(svc, path);
  if (typeof res === "string") return fail(res);
  const fileName = path.split(/[\\/]/).pop() || "file";
  const got = await stageResponse(env, sid, item, res, fileName, { maxBytes, timeoutMs: LOCAL_TIMEOUT_MS });
  return typeof got === "string" ? fail(got) : got;
}
