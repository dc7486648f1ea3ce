import {
  ArchiveError,
  ByteReader,
  counter,
  DEFAULT_LIMITS,
  entryNameProblem,
  isSystemFile,
  archiveKind,
} from "../../storage/archives";
import { tarEntries } from "../../storage/archives-tar";
import { checkZip, openZipEntry, readZipDirectory } from "../../storage/archives-zip";
import { iterate } from "../../storage/archives";
import { enqueue } from "../../storage/queues";
import { runBatch } from "../../lib/d1";
import { addTasksStatement, sessionError } from "./progress";
import { handleEntry, type EntryContext } from "./entries";

/** One message handles at most this many zip entries or inflated bytes; the rest goes to a follow-up message. */
export const ZIP_ENTRIES_PER_MESSAGE = 400;
export const ZIP_BYTES_PER_MESSAGE = 256 * 1024 * 1024;

const refuse = (ctx: EntryContext, entry: string, why: string) =>
  sessionError(
    ctx.env,
    ctx.target.sid,
    "archive",
    `${ctx.archiveName}/${entry}`,
    `${ctx.archiveName}: entry ${entry} refused (${why})`,
    `refused:${ctx.archiveName}/${entry}`,
  );

/**
 * A zip is read through its central directory (ranged gets), so the whole listing is checked (bombs, traversal,
 * symlinks) before anything is inflated, and a big archive is split across messages by entry index.
 * Returns the index to continue from, or null when the archive is finished.
 */
export async function processZip(ctx: EntryContext, key: string, size: number, from: number): Promise<number | null> {
  let entries;
  let problems: Map<number, string>;
  try {
    entries = await readZipDirectory(ctx.env.BUCKET, key, size);
    problems = checkZip(entries, DEFAULT_LIMITS, size);
  } catch (e) {
    if (!(e instanceof ArchiveError)) throw e;
    await sessionError(
      ctx.env,
      ctx.target.sid,
      "archive",
      ctx.archiveName,
      `${ctx.archiveName}: ${e.message}`,
      `archive:${ctx.archiveName}:${ctx.itemId}`,
    );
    return null;
  }
  let bytes = 0;
  for (let i = from; i < entries.length; i++) {
    if (i - from >= ZIP_ENTRIES_PER_MESSAGE || bytes >= ZIP_BYTES_PER_MESSAGE) {
      await ctx.images.flush();
      await runBatch(ctx.env.DB, [addTasksStatement(ctx.target.sid, 1)]);
      await enqueue(ctx.env.INGEST, { type: "ingest-item", sessionId: ctx.target.sid, itemId: ctx.itemId, from: i });
      return i;
    }
    const e = entries[i];
    const problem = problems.get(i);
    if (problem) {
      await refuse(ctx, e.name, problem);
      continue;
    }
    if (e.isDirectory || isSystemFile(e.name)) continue;
    bytes += e.size;
    try {
      const stream = await openZipEntry(ctx.env.BUCKET, key, e);
      await handleEntry(ctx, e.name, `${i}/${e.name.replace(/[^\w.-]+/g, "_").slice(-80)}`, iterate(stream));
    } catch (err) {
      if (!(err instanceof ArchiveError) && !(err instanceof TypeError)) throw err;
      // TypeError: the platform's inflater rejecting corrupt deflate data.
      await sessionError(
        ctx.env,
        ctx.target.sid,
        "archive",
        `${ctx.archiveName}/${e.name}`,
        `${ctx.archiveName}: ${e.name}: ${err.message}`,
        `entry:${ctx.itemId}:${i}`,
      );
    }
  }
  await ctx.images.flush();
  return null;
}

/**
 * Tar entries in order; links, traversal and absolute names refused one by one. After a message's budget the walk
 * stops at an entry boundary and returns where to resume: the entry's byte offset (`resume: "offset"`, plain tar,
 * read again from there by range) or its index (`resume: "index"`, gzip: inflated again, earlier entries skipped
 * unread). Null when the archive is finished.
 */
export async function processTar(
  ctx: EntryContext,
  stream: ReadableStream<Uint8Array>,
  opts: { resume: "offset" | "index"; base: number; skip: number } = { resume: "offset", base: 0, skip: 0 },
): Promise<number | null> {
  let n = 0;
  let handled = 0;
  let bytes = 0;
  for await (const entry of tarEntries(stream)) {
    n++;
    if (n <= opts.skip) continue;
    if (n > DEFAULT_LIMITS.maxEntries) throw new ArchiveError(`too many entries (> ${DEFAULT_LIMITS.maxEntries})`);
    if (handled >= ZIP_ENTRIES_PER_MESSAGE || bytes >= ZIP_BYTES_PER_MESSAGE) {
      await ctx.images.flush();
      return opts.resume === "offset" ? opts.base + entry.offset : n - 1;
    }
    if (entry.type === "directory" || entry.type === "other") continue;
    const bad = entryNameProblem(entry.name) ?? (entry.type === "symlink" || entry.type === "hardlink" ? "link" : null);
    if (bad) {
      await refuse(ctx, entry.name, bad);
      continue;
    }
    if (isSystemFile(entry.name)) continue;
    handled++;
    bytes += entry.size;
    const at = opts.resume === "offset" ? opts.base + entry.offset : n;
    await handleEntry(ctx, entry.name, `t${at}/${entry.name.replace(/[^\w.-]+/g, "_").slice(-80)}`, entry.chunks());
  }
  await ctx.images.flush();
  return null;
}

/**
 * gzip: inflated as a stream with the ratio and total caps enforced on the bytes that come out; a tar inside is
 * walked, anything else is the one file the gzip holds (named after the archive without `.gz`).
 */
export async function processGzip(
  ctx: EntryContext,
  body: ReadableStream<Uint8Array>,
  skip = 0,
): Promise<number | null> {
  let compressed = 0;
  const inflated = body
    .pipeThrough(counter((n) => (compressed = n)))
    .pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
    .pipeThrough(
      counter((n) => {
        if (n > DEFAULT_LIMITS.maxTotal) throw new ArchiveError(`expands past the ${DEFAULT_LIMITS.maxTotal} byte cap`);
        if (n > DEFAULT_LIMITS.ratioFloor && n / Math.max(compressed, 1) > DEFAULT_LIMITS.maxRatio)
          throw new ArchiveError(`compression ratio over ${DEFAULT_LIMITS.maxRatio}:1 (zip bomb?)`);
      }),
    );
  const reader = new ByteReader(inflated);
  const head = await reader.exact(512);
  const rest = new ReadableStream<Uint8Array>({
    start(c) {
      if (head.length) c.enqueue(head);
    },
    async pull(c) {
      const chunk = await reader.some(1 << 20);
      if (chunk) c.enqueue(chunk);
      else c.close();
    },
    cancel: () => reader.cancel(),
  });
  if (archiveKind(head) === "tar") return processTar(ctx, rest, { resume: "index", base: 0, skip });
  const inner = ctx.archiveName.replace(/\.tgz$/i, ".tar").replace(/\.gz$/i, "") || "file";
  await handleEntry(
    ctx,
    inner.replace(/^.*[\\/]/, ""),
    `gz/${inner.replace(/[^\w.-]+/g, "_").slice(-80)}`,
    iterate(rest),
  );
  await ctx.images.flush();
  return null;
}
