import { sql, type SQL } from "drizzle-orm";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { baseName } from "../../lib/names";
import { ImageEndScanner } from "../../media/image-end";
import { probeImage, probeObject, sniffImageMime, type ImageInfo } from "../../media/probe";
import { copyObject, hashObject, imageKey, readRange } from "../../storage/blobs";
import { toHex } from "../../lib/hashing";
import { eventStatement, fileErrorStatements } from "./progress";
import { allocateImageBlock, IMAGE_BLOCK_SIZE } from "../../dataset-store/locate";

export interface IngestTarget {
  sid: string;
  datasetId: number;
  folderId: number | null;
}

export interface PendingImage {
  name: string;
  sha256: string;
  info: ImageInfo;
  size: number;
  /** Where the row will point: `images/<sha256>` for stored copies, the bucket key for linked ones. */
  r2Key: string;
  linked: boolean;
  /** Bytes still to be stored (archive entries); absent when the blob is already in place. */
  bytes?: Uint8Array;
}

/** Images whose bytes may be buffered whole (archive entries, small files): bigger ones stream. */
export const MAX_BUFFERED_IMAGE = 32 * 1024 * 1024;

/** Why an image whose structural end was never read is refused. */
function truncation(mime: string): string {
  return mime === "image/jpeg" ? "truncated image (no JPEG end marker)" : "truncated image (no PNG IEND chunk)";
}

/**
 * Probes in-memory bytes: the pending image, or the error to record. The header is walked however far the frame
 * header is, and the structure to its end (ImageEndScanner: what follows a JPEG's EOI or a PNG's IEND is ignored).
 */
export async function imageFromBytes(name: string, bytes: Uint8Array): Promise<PendingImage | string> {
  const info = probeImage(bytes);
  if (!info) return sniffImageMime(bytes) ? "corrupt or truncated image header" : "not an image";
  const end = new ImageEndScanner(info.mime);
  end.push(bytes);
  if (!end.complete) return truncation(info.mime);
  const sha256 = toHex(await crypto.subtle.digest("SHA-256", bytes));
  return { name: baseName(name), sha256, info, size: bytes.length, r2Key: imageKey(sha256), linked: false, bytes };
}

/**
 * An image already in the bucket (staged upload, direct upload, or a linked key), read in bounded pieces: the
 * header by ranges (probeObject), then one streamed read for the SHA-256 and the structural end. Stored copies go
 * to their content address by a streamed copy.
 */
export async function imageFromObject(
  env: Env,
  name: string,
  key: string,
  size: number,
  linked: boolean,
): Promise<PendingImage | string> {
  const info = await probeObject((offset, length) => readRange(env.BUCKET, key, offset, length), size);
  if (!info) {
    const head = await readRange(env.BUCKET, key, 0, Math.min(size, 16));
    return sniffImageMime(head) ? "corrupt or truncated image header" : "not an image";
  }
  const end = new ImageEndScanner(info.mime);
  const hashed = await hashObject(env.BUCKET, key, (chunk) => end.push(chunk));
  if (!hashed) return "object disappeared";
  if (!end.complete) return truncation(info.mime);
  if (linked) return { name: baseName(name), sha256: hashed.sha256, info, size, r2Key: key, linked: true };
  const target = imageKey(hashed.sha256);
  if (key !== target && !(await env.BUCKET.head(target)))
    await copyObject(env.BUCKET, key, target, { contentType: info.mime });
  return { name: baseName(name), sha256: hashed.sha256, info, size, r2Key: target, linked: false };
}

/**
 * Collects images and writes them in small batches. Remo's duplicate rules: an image whose base name is already
 * in the dataset is not added (error "not added (Duplicated image)"); the same bytes under another name are
 * added with a warning. Rows are written only after their blob exists; the dataset's counters and the session's
 * move in the same batch as the insert, and only for rows actually inserted, so a retried message adds nothing.
 */
export class ImageBatch {
  private pending: PendingImage[] = [];
  private bytes = 0;
  added = 0;

  constructor(
    private env: Env,
    private target: IngestTarget,
    private limits = { images: 25, bytes: 24 * 1024 * 1024 },
  ) {}

  async add(img: PendingImage): Promise<void> {
    this.pending.push(img);
    this.bytes += img.bytes?.length ?? 0;
    if (this.pending.length >= this.limits.images || this.bytes >= this.limits.bytes) await this.flush();
  }

  async fail(name: string, message: string, key: string): Promise<void> {
    await runBatch(this.env.DB, fileErrorStatements(this.target.sid, "images", baseName(name), message, key));
  }

  async flush(): Promise<void> {
    const imgs = this.pending;
    this.pending = [];
    this.bytes = 0;
    if (!imgs.length) return;
    const { sid, datasetId, folderId } = this.target;
    const names = [...new Set(imgs.map((i) => i.name))];
    const shas = [...new Set(imgs.map((i) => i.sha256))];
    const [byName, bySha] = await Promise.all([
      this.env.DB.prepare(
        "SELECT original_name, sha256, upload_session_id FROM images WHERE dataset_id = ? AND original_name IN (SELECT value FROM json_each(?))",
      )
        .bind(datasetId, JSON.stringify(names))
        .all<{ original_name: string; sha256: string; upload_session_id: string | null }>(),
      this.env.DB.prepare(
        "SELECT original_name, sha256 FROM images WHERE sha256 IN (SELECT value FROM json_each(?)) AND dataset_id = ?",
      )
        .bind(JSON.stringify(shas), datasetId)
        .all<{ original_name: string; sha256: string }>(),
    ]);
    const existing = new Map(byName.results.map((r) => [r.original_name, r]));
    const shaNames = new Map<string, string>();
    for (const r of bySha.results) if (!shaNames.has(r.sha256)) shaNames.set(r.sha256, r.original_name);

    // Per-image groups: a group's statements chain on changes(), so a group never straddles two batches.
    const statements: SQL[][] = [];
    const toStore: PendingImage[] = [];
    const seen = new Set<string>();
    for (const img of imgs) {
      const prior = existing.get(img.name);
      if (prior && prior.upload_session_id === sid && prior.sha256 === img.sha256 && !seen.has(img.name)) {
        seen.add(img.name);
        continue; // written by an earlier attempt of this very message
      }
      if (prior || seen.has(img.name)) {
        statements.push(
          fileErrorStatements(sid, "images", img.name, "not added (Duplicated image)", `dup:${img.name}:${img.sha256}`),
        );
        continue;
      }
      seen.add(img.name);
      const twin = shaNames.get(img.sha256);
      if (twin && twin !== img.name) {
        statements.push([
          eventStatement(sid, {
            scope: "images",
            level: "warning",
            filename: img.name,
            message: `image correctly added, but we found a duplicate within the dataset: ${twin}`,
            key: `twin:${img.name}`,
          }),
        ]);
      } else shaNames.set(img.sha256, img.name);
      toStore.push(img);
      // In a DatasetStore the images and the session live in two databases: see writeInStore.
      if (this.env.DATASET_STORE_ID) continue;
      statements.push([
        sql`INSERT OR IGNORE INTO images (dataset_id, folder_id, original_name, sha256, r2_key, linked, mime, size, width, height, upload_session_id)
          VALUES (${datasetId}, ${folderId}, ${img.name}, ${img.sha256}, ${img.r2Key}, ${img.linked ? 1 : 0}, ${img.info.mime}, ${img.size},
            ${img.info.width}, ${img.info.height}, ${sid})`,
        sql`UPDATE datasets SET image_count = image_count + 1, size_in_bytes = size_in_bytes + ${img.size},
          updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ${datasetId} AND changes() = 1`,
        sql`UPDATE upload_sessions SET images_total = images_total + 1, images_successful = images_successful + 1
          WHERE id = ${sid} AND changes() = 1`,
        // Not inserted after all: another session added that name in the meantime. Same rule, same error.
        sql`INSERT INTO upload_events (session_id, scope, level, filename, message, dedupe_key)
          SELECT ${sid}, 'images', 'error', ${img.name}, 'not added (Duplicated image)', ${`dup:${img.name}:${img.sha256}`}
          WHERE changes() = 0 AND NOT EXISTS (SELECT 1 FROM upload_events WHERE session_id = ${sid} AND dedupe_key = ${`dup:${img.name}:${img.sha256}`})`,
        sql`UPDATE upload_sessions SET images_failed = images_failed + 1, images_total = images_total + 1 WHERE id = ${sid} AND changes() = 1`,
      ]);
    }
    // Blobs first: a row never points at a missing object. Same bytes are stored once, across datasets.
    await Promise.all(
      toStore
        .filter((i) => i.bytes)
        .map(async (i) => {
          if (!(await this.env.BUCKET.head(i.r2Key)))
            await this.env.BUCKET.put(i.r2Key, i.bytes!, { httpMetadata: { contentType: i.info.mime } });
          i.bytes = undefined;
        }),
    );
    if (this.env.DATASET_STORE_ID) await this.writeInStore(toStore);
    await runGroups(this.env.DB, statements);
    this.added += toStore.length;
  }

  /**
   * The rows of `imgs` in a dataset served by its DatasetStore (issue 13), where the images are in the object and the
   * session in D1, so one transaction cannot hold both (docs/dataset-store-audit.md, D). Two steps instead:
   * 0. D1: the dataset's references to the blobs (blob_refs), so the blob sweep keeps them;
 * 1. the object, in one transaction: each image inserted with an id reserved for this dataset (reserveImageIds),
   *    and the dataset's counters moved by the rows actually inserted (then copied to D1's registry row);
   * 2. D1, in one batch: the session's counters for those rows, and "Duplicated image" for the names another
   *    session took meanwhile (deduplicated by key, so a retry records it once).
   * A crash between the two leaves the session's success counter short: finishSession recounts it from the object.
   */
  private async writeInStore(imgs: PendingImage[]): Promise<void> {
    if (!imgs.length) return;
    const { sid, datasetId, folderId } = this.target;
    // Before the rows: the blob sweep must never see a key this dataset uses as unused (schema: blob_refs).
    await this.env.DB.prepare("INSERT OR IGNORE INTO blob_refs (r2_key, dataset_id) SELECT value, ?2 FROM json_each(?1)")
      .bind(JSON.stringify([...new Set(imgs.map((i) => i.r2Key))]), datasetId)
      .run();
    const results = await withImageIds(this.env, datasetId, imgs.length, (ids) =>
      runBatch(
        this.env.DB,
        imgs.flatMap((img, k) => [
          sql`INSERT OR IGNORE INTO images (id, dataset_id, folder_id, original_name, sha256, r2_key, linked, mime, size, width, height, upload_session_id)
            VALUES (${ids[k]}, ${datasetId}, ${folderId}, ${img.name}, ${img.sha256}, ${img.r2Key}, ${img.linked ? 1 : 0}, ${img.info.mime}, ${img.size},
              ${img.info.width}, ${img.info.height}, ${sid}) RETURNING id`,
          sql`UPDATE datasets SET image_count = image_count + 1, size_in_bytes = size_in_bytes + ${img.size},
            updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ${datasetId} AND changes() = 1`,
        ]),
      ),
    );
    const lost = imgs.filter((_, k) => !results[2 * k].results.length);
    const inserted = imgs.length - lost.length;
    await runGroups(this.env.DB, [
      ...(inserted
        ? [[sql`UPDATE upload_sessions SET images_total = images_total + ${inserted}, images_successful = images_successful + ${inserted} WHERE id = ${sid}`]]
        : []),
      ...lost.map((img) => fileErrorStatements(sid, "images", img.name, "not added (Duplicated image)", `dup:${img.name}:${img.sha256}`)),
    ]);
  }
}

/** Per dataset, the tail of the chain of id reservations and inserts running in this isolate (see withImageIds). */
const IMAGE_ID_LOCKS = new Map<number, Promise<unknown>>();

/**
 * Runs `write` with `n` fresh image ids for dataset `datasetId` inside its DatasetStore, one reservation and write at
 * a time per dataset (an object is one instance, so this isolate is the only writer): the ids are consecutive
 * after the object's AUTOINCREMENT sequence, inside the dataset's latest block of image_id_ranges (locate.ts), and a
 * new block is allocated in D1 when that one has no room for `n` more. Ids are never reused: SQLite's sequence
 * keeps the largest id ever inserted, deleted rows included. An id reserved for a row the write did not insert is
 * simply skipped. `n` is at most IMAGE_BLOCK_SIZE. `table` "folders" takes folder ids from the same blocks along
 * the folders' own sequence (a folder and an image of one dataset may share a number; no two datasets share one).
 */
export async function withImageIds<T>(
  env: Env,
  datasetId: number,
  n: number,
  write: (ids: number[]) => Promise<T>,
  table: "images" | "folders" = "images",
): Promise<T> {
  if (n > IMAGE_BLOCK_SIZE) throw new Error(`${n} image ids at once is over a block (${IMAGE_BLOCK_SIZE})`);
  const prev = IMAGE_ID_LOCKS.get(datasetId) ?? Promise.resolve();
  const run = prev.catch(() => {}).then(async () => {
    const seq = (await env.DB.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1").bind(table).first<number>("seq")) ?? 0;
    let block = await env.DB.prepare(
      "SELECT first_id AS first, last_id AS last FROM image_id_ranges WHERE dataset_id = ?1 AND kind = 'block' ORDER BY first_id DESC LIMIT 1",
    )
      .bind(datasetId)
      .first<{ first: number; last: number }>();
    if (!block || Math.max(seq + 1, block.first) + n - 1 > block.last) block = await allocateImageBlock(env, datasetId);
    const start = Math.max(seq + 1, block.first);
    return write(Array.from({ length: n }, (_, i) => start + i));
  });
  IMAGE_ID_LOCKS.set(datasetId, run);
  try {
    return await run;
  } finally {
    if (IMAGE_ID_LOCKS.get(datasetId) === run) IMAGE_ID_LOCKS.delete(datasetId);
  }
}

/** Runs statement groups in batches of at most ~90 statements, never splitting a group. */
export async function runGroups(db: D1Database, groups: SQL[][]): Promise<void> {
  let batch: SQL[] = [];
  for (const g of groups) {
    if (batch.length + g.length > 90) {
      await runBatch(db, batch);
      batch = [];
    }
    batch.push(...g);
  }
  if (batch.length) await runBatch(db, batch);
}
