import type { ContentsPage, ContentsPager } from "../services/search/contents";

/** Bounds of a FolderImageLists; the defaults suit a Durable Object's 128 MB. */
export interface FolderImageListOptions {
  /** Pages whose first image is at most this far into the folder are read with SQL's `OFFSET` (cheap that near). */
  walkMax?: number;
  /** Image ids held in memory over all folders (8 bytes each); a folder larger than this is always walked. */
  maxIds?: number;
}

interface FolderList {
  version: number;
  ids: Float64Array;
}

const WALK_MAX = 2_000;
const MAX_IDS = 2_000_000;

/**
 * The contents pages of one DatasetStore's dataset without SQLite's `OFFSET` walk (issue 13's contents latency):
 * `OFFSET n` steps over n index entries, so a page deep in a 100,000-image folder walked tens of thousands of
 * entries, and the page's four annotation queries walked them again.
 *
 * It keeps, per folder, the ids of the folder's images in id order (the listing's order), read once in one index
 * scan, and a page is a slice of them. It is right because the object is the only writer of its SQLite, and every
 * change to a folder's image list (insert, delete, a move, cascades included) bumps that folder's
 * `folder_image_counts.version` in SQLite's own triggers (migrations/0006), which each page reads before it uses its
 * list. Near the start of a folder (`walkMax`), with no list in memory, it walks instead, so a folder that is being
 * filled is not re-read for its first pages. At most `maxIds` ids are held; the folders read longest ago go first.
 *
 * Counts come from `folder_image_counts` (images) and a `COUNT(*)` over the folder's child folders.
 */
export class FolderImageLists implements ContentsPager {
  readonly #sql: SqlStorage;
  readonly #walkMax: number;
  readonly #maxIds: number;
  /** Folder id (0: the root) → its list; Map order is the order they were read, oldest first. */
  #lists = new Map<number, FolderList>();
  #held = 0;

  constructor(sql: SqlStorage, opts: FolderImageListOptions = {}) {
    this.#sql = sql;
    this.#walkMax = opts.walkMax ?? WALK_MAX;
    this.#maxIds = opts.maxIds ?? MAX_IDS;
  }

  /** See ContentsPager: folders come first, so the images start at `max(0, offset - folderCount)`. */
  contentsPage(datasetId: number, folderId: number | null, offset: number, limit: number): ContentsPage {
    const key = folderId ?? 0;
    const folderCount = Number(
      (folderId === null
        ? this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM folders WHERE dataset_id = ? AND parent_id IS NULL", datasetId)
        : this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM folders WHERE dataset_id = ? AND parent_id = ?", datasetId, folderId)
      ).one().n,
    );
    const row = this.#sql
      .exec<{ image_count: number; version: number }>(
        "SELECT image_count, version FROM folder_image_counts WHERE dataset_id = ? AND folder_id = ?",
        datasetId,
        key,
      )
      .toArray()[0];
    const imageCount = Number(row?.image_count ?? 0);
    const start = Math.max(0, offset - folderCount);
    const n = limit - Math.max(0, Math.min(limit, folderCount - offset));
    const page = { folderCount, imageCount, imageIds: [] as number[] };
    if (n <= 0 || start >= imageCount || !row) return page;
    let list = this.#lists.get(key);
    if (list && list.version !== Number(row.version)) {
      this.#drop(key);
      list = undefined;
    }
    if (!list && (start <= this.#walkMax || imageCount > this.#maxIds)) {
      page.imageIds = this.#folderIds(datasetId, folderId, n, start);
      return page;
    }
    if (!list) list = this.#read(datasetId, folderId, key, Number(row.version), imageCount);
    else {
      // Most recently used last, so eviction takes the folder read longest ago.
      this.#lists.delete(key);
      this.#lists.set(key, list);
    }
    page.imageIds = Array.from(list.ids.subarray(start, start + n));
    return page;
  }

  /** Forgets every list (the object's data was deleted). */
  clear(): void {
    this.#lists.clear();
    this.#held = 0;
  }

  /** The folder's image ids in id order, `limit` of them (-1: all) after skipping `offset`. */
  #folderIds(datasetId: number, folderId: number | null, limit: number, offset: number): number[] {
    const cursor =
      folderId === null
        ? this.#sql.exec("SELECT id FROM images WHERE dataset_id = ? AND folder_id IS NULL ORDER BY id LIMIT ? OFFSET ?", datasetId, limit, offset)
        : this.#sql.exec("SELECT id FROM images WHERE dataset_id = ? AND folder_id = ? ORDER BY id LIMIT ? OFFSET ?", datasetId, folderId, limit, offset);
    const out: number[] = [];
    for (const r of cursor.raw()) out.push(Number(r[0]));
    return out;
  }

  #read(datasetId: number, folderId: number | null, key: number, version: number, imageCount: number): FolderList {
    const all = this.#folderIds(datasetId, folderId, -1, 0);
    const list = { version, ids: Float64Array.from(all) };
    // The count is the triggers'; the list is what the rows say (they agree unless the triggers were bypassed).
    if (list.ids.length > this.#maxIds || imageCount > this.#maxIds) return list;
    while (this.#lists.size && this.#held + list.ids.length > this.#maxIds) this.#drop(this.#lists.keys().next().value as number);
    this.#lists.set(key, list);
    this.#held += list.ids.length;
    return list;
  }

  #drop(key: number): void {
    const list = this.#lists.get(key);
    if (!list) return;
    this.#lists.delete(key);
    this.#held -= list.ids.length;
  }
}
