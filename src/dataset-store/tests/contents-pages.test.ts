import { env, runInDurableObject } from "cloudflare:test";
import { drizzle } from "drizzle-orm/durable-sqlite";
import { migrate } from "drizzle-orm/durable-sqlite/migrator";
import { describe, expect, it } from "vitest";
import { FolderImageLists } from "../contents-pages";
import migrations from "../migrations";

/** A fresh object of its own with the schema, dataset 1 owned by user 1, folders 10 and 11 (11 inside 10). */
async function withDataset<T>(fn: (sql: SqlStorage) => T | Promise<T>): Promise<T> {
  return runInDurableObject(env.DATASETS.get(env.DATASETS.newUniqueId()), async (_o, state) => {
    await migrate(drizzle(state.storage), migrations);
    const sql = state.storage.sql;
    sql.exec("INSERT INTO users (id, email, name, password_hash) VALUES (1, 'a@b.c', 'A', '')");
    sql.exec("INSERT INTO datasets (id, owner_id, name) VALUES (1, 1, 'd')");
    sql.exec("INSERT INTO folders (id, dataset_id, parent_id, name) VALUES (10, 1, NULL, 'a'), (11, 1, 10, 'b')");
    return fn(sql);
  });
}

function addImages(sql: SqlStorage, ids: number[], folderId: number | null) {
  for (const id of ids)
    sql.exec(
      "INSERT INTO images (id, dataset_id, folder_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, 1, ?, ?, 'x', 'k', 'image/jpeg', 1, 1, 1)",
      id,
      folderId,
      `i${id}.jpg`,
    );
}

/** What listContents' SQL computes: the folder count, the image count and the page's ids by LIMIT/OFFSET. */
function reference(sql: SqlStorage, folderId: number | null, offset: number, limit: number) {
  const where = folderId === null ? "IS NULL" : `= ${folderId}`;
  const folderCount = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM folders WHERE dataset_id = 1 AND parent_id ${where}`).one().n;
  const imageCount = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM images WHERE dataset_id = 1 AND folder_id ${where}`).one().n;
  const n = limit - Math.max(0, Math.min(limit, folderCount - offset));
  const imageIds = sql
    .exec<{ id: number }>(`SELECT id FROM images WHERE dataset_id = 1 AND folder_id ${where} ORDER BY id LIMIT ? OFFSET ?`, n, Math.max(0, offset - folderCount))
    .toArray()
    .map((r) => r.id);
  return { folderCount, imageCount, imageIds };
}

/** Every page of every size up to 7 in both folders and the root, each against the reference. */
function checkAll(sql: SqlStorage, pages: FolderImageLists) {
  for (const folder of [null, 10, 11])
    for (let limit = 1; limit <= 7; limit++)
      for (let offset = 0; offset <= 45; offset++) expect(pages.contentsPage(1, folder, offset, limit), `folder ${folder} offset ${offset} limit ${limit}`).toEqual(reference(sql, folder, offset, limit));
}

describe("contents pages from a DatasetStore's folder lists (no OFFSET walk)", () => {
  it("answers every page as LIMIT/OFFSET does, and follows inserts, deletes, moves and a cascaded folder delete", async () => {
    const ok = await withDataset((sql) => {
      // walkMax 2: every page past the second image comes from the list in memory.
      const pages = new FolderImageLists(sql, { walkMax: 2 });
      addImages(sql, [5, 3, 40, 7, 8, 9, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35], null);
      addImages(sql, [100, 101, 102, 103, 104, 105], 10);
      addImages(sql, [200, 201], 11);
      checkAll(sql, pages);
      // Each change after the lists were read must show in the next page.
      addImages(sql, [6, 41], null);
      checkAll(sql, pages);
      sql.exec("DELETE FROM images WHERE id IN (3, 24, 103)");
      checkAll(sql, pages);
      sql.exec("UPDATE images SET folder_id = 11 WHERE id IN (20, 101)");
      checkAll(sql, pages);
      sql.exec("UPDATE images SET folder_id = NULL WHERE id = 200");
      checkAll(sql, pages);
      sql.exec("DELETE FROM folders WHERE id = 10"); // 11 and their images go by cascade
      checkAll(sql, pages);
      // A folder re-created under a new id starts empty.
      sql.exec("INSERT INTO folders (id, dataset_id, parent_id, name) VALUES (12, 1, NULL, 'c')");
      addImages(sql, [300, 301, 302, 303, 304], 12);
      for (let offset = 0; offset < 8; offset++) expect(pages.contentsPage(1, 12, offset, 3)).toEqual(reference(sql, 12, offset, 3));
      checkAll(sql, pages);
      return true;
    });
    expect(ok).toBe(true);
  });

  it("holds at most maxIds ids: a folder larger than that is walked, and the folder read longest ago goes first", async () => {
    const out = await withDataset((sql) => {
      addImages(sql, Array.from({ length: 30 }, (_, i) => 1000 + i), null);
      addImages(sql, Array.from({ length: 12 }, (_, i) => 2000 + i), 10);
      addImages(sql, Array.from({ length: 12 }, (_, i) => 3000 + i), 11);
      const pages = new FolderImageLists(sql, { walkMax: 0, maxIds: 20 });
      checkAll(sql, pages);
      // The root (30 ids) never fit; 10 and 11 (12 each) cannot both be held, so reading one evicts the other.
      return { root: pages.contentsPage(1, null, 29, 5), ten: pages.contentsPage(1, 10, 11, 5) };
    });
    expect(out.root).toEqual({ folderCount: 1, imageCount: 30, imageIds: [1028, 1029] });
    expect(out.ten).toEqual({ folderCount: 1, imageCount: 12, imageIds: [2010, 2011] });
  });

  it("keeps folder_image_counts equal to a recount whatever writes the images", async () => {
    const rows = await withDataset((sql) => {
      addImages(sql, [1, 2, 3], null);
      addImages(sql, [4, 5], 10);
      addImages(sql, [6], 11);
      sql.exec("UPDATE images SET folder_id = 11 WHERE id = 1");
      sql.exec("UPDATE images SET original_name = 'renamed.jpg' WHERE id = 2"); // not a move: counts unchanged
      sql.exec("DELETE FROM images WHERE id = 4");
      const counted = sql.exec("SELECT folder_id, image_count FROM folder_image_counts ORDER BY folder_id").toArray();
      const recount = sql.exec("SELECT coalesce(folder_id, 0) AS folder_id, count(*) AS image_count FROM images GROUP BY 1 ORDER BY 1").toArray();
      sql.exec("DELETE FROM datasets WHERE id = 1");
      const afterDelete = sql.exec("SELECT count(*) AS n FROM folder_image_counts").one().n;
      return { counted, recount, afterDelete };
    });
    expect(rows.counted).toEqual(rows.recount);
    expect(rows.counted).toEqual([
      { folder_id: 0, image_count: 2 },
      { folder_id: 10, image_count: 1 },
      { folder_id: 11, image_count: 2 },
    ]);
    expect(rows.afterDelete).toBe(0);
  });
});
