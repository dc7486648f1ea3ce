import { createExecutionContext, createMessageBatch, env, getQueueResult, runInDurableObject } from "cloudflare:test";
import worker from "../../index";
import { describe, expect, it } from "vitest";
import { createDb } from "../../db/client";
import type { AuthUser } from "../../env";
import type { ServiceCtx } from "../../services/context";
import { listContents } from "../../services/search/contents";
import { searchContents } from "../../services/search/views";
import { get, expectStatus } from "../../../test/helpers/api";
import { createDataset, createUser, type TestUser } from "../../../test/helpers/factories";
import { seedFixtureSet, seedSet } from "../../../test/helpers/seed-annotations";
import { compareStoreCounts, copyDatasetToStore } from "../copy-from-d1";
import migrations from "../migrations";
import { sqlStorageAsD1 } from "../sql-d1";
import { datasetStore, type DatasetStore } from "../store";

const tablesOf = (stub: DurableObjectStub<DatasetStore>) =>
  runInDurableObject(stub, (_o, state) =>
    state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((r) => r.name),
  );

/** A fresh object of its own, not tied to any dataset. */
const scratchStore = () => env.DATASETS.get(env.DATASETS.newUniqueId());

function authUser(u: TestUser): AuthUser {
  return { id: u.id, email: u.email, name: "Test User", isSuperuser: false, keyId: 0 };
}

/** Signed URLs carry an expiry; the rest of an answer must be equal byte for byte. */
const unsigned = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/\?[^"]*"/g, '"'));

describe("DatasetStore storage", () => {
  it("creates no storage for a dataset that does not exist, whatever is asked of it", async () => {
    const user = await createUser();
    await expectStatus(get("/api/v1/ui/datasets/987654321/", user.key), 404);
    const stub = datasetStore(env, 987654321);
    expect(await stub.isProvisioned()).toBe(false);
    expect((await stub.counts()).bytes).toBe(0);
    expect(Object.values(await stub.lastKeys(987654321, [1, 2])).every((k) => k === null)).toBe(true);
    expect(await stub.isProvisioned()).toBe(false);
    expect(await tablesOf(stub)).toEqual([]);
  });

  it("refuses to copy a dataset that does not exist, and writes nothing", async () => {
    await expect(copyDatasetToStore(env, 987654322)).rejects.toThrow(/does not exist/);
    expect(await datasetStore(env, 987654322).isProvisioned()).toBe(false);
  });

  it("bundles every D1 migration (src/dataset-store/migrations.ts is regenerated with migrations/)", () => {
    const d1 = env.TEST_MIGRATIONS;
    expect(migrations.journal.entries.map((e) => e.tag)).toEqual(d1.map((m) => m.name.replace(/\.sql$/, "")));
    const bundled = Object.values(migrations.migrations).join("\n");
    for (const m of d1) for (const q of m.queries) expect(bundled).toContain(q.trim().replace(/;$/, ""));
  });
});

describe("the D1 interface over the object's SQLite", () => {
  it("answers first, all, raw and run as D1 does, with changes and last_row_id", async () => {
    const out = await runInDurableObject(scratchStore(), async (_o, state) => {
      const db = sqlStorageAsD1(state.storage);
      await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, flag INTEGER)");
      const ins = await db.prepare("INSERT INTO t (name, flag) VALUES (?1, ?2)").bind("a", true).run();
      await db.prepare("INSERT INTO t (name, flag) VALUES (?, ?)").bind("b", false).run();
      const upd = await db.prepare("UPDATE t SET flag = 7 WHERE name = 'zzz'").run();
      const sel = await db.prepare("SELECT * FROM t ORDER BY id").all();
      return {
        ins: [ins.meta.changes, ins.meta.last_row_id],
        upd: upd.meta.changes,
        readChanges: sel.meta.changes,
        rows: sel.results,
        first: await db.prepare("SELECT name FROM t WHERE id = 2").first("name"),
        none: await db.prepare("SELECT name FROM t WHERE id = 99").first(),
        raw: await db.prepare("SELECT id, name AS id FROM t ORDER BY id").raw({ columnNames: true }),
        undef: (() => {
          try {
            db.prepare("SELECT ?").bind(undefined);
            return "bound";
          } catch (e) {
            return (e as Error).message;
          }
        })(),
      };
    });
    expect(out.ins).toEqual([1, 1]);
    expect(out.upd).toBe(0);
    expect(out.readChanges).toBe(0);
    expect(out.rows).toEqual([
      { id: 1, name: "a", flag: 1 },
      { id: 2, name: "b", flag: 0 },
    ]);
    expect(out.first).toBe("b");
    expect(out.none).toBeNull();
    expect(out.raw).toEqual([["id", "id"], [1, "a"], [2, "b"]]);
    expect(out.undef).toMatch(/D1_TYPE_ERROR/);
  });

  it("rolls a whole batch back when one statement fails, as D1's batch does", async () => {
    const out = await runInDurableObject(scratchStore(), async (_o, state) => {
      const db = sqlStorageAsD1(state.storage);
      await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
      await db.prepare("INSERT INTO t (name) VALUES ('kept')").run();
      const err = await db
        .batch([
          db.prepare("INSERT INTO t (name) VALUES ('half')"),
          db.prepare("UPDATE t SET name = 'changed' WHERE name = 'kept'"),
          db.prepare("INSERT INTO t (name) VALUES ('half')"), // UNIQUE violation
        ])
        .then(() => null, (e: Error) => e.message);
      return { err, rows: (await db.prepare("SELECT name FROM t").all()).results };
    });
    expect(out.err).toMatch(/UNIQUE/);
    expect(out.rows).toEqual([{ name: "kept" }]);
  });
});

describe("copying a dataset from D1 into its object", () => {
  it("copies every row with its id, and the services answer the same from the object as from D1", async () => {
    const user = await createUser();
    const seeded = await seedFixtureSet(user);
    const progress = await copyDatasetToStore(env, seeded.datasetId);
    expect(progress.done).toBe(true);
    const check = await compareStoreCounts(env, seeded.datasetId);
    expect(check.equal, JSON.stringify(check)).toBe(true);
    expect(check.d1.images).toBe(seeded.imageIds.size);
    expect(check.d1.annotation_objects).toBeGreaterThan(0);
    expect(check.store.bytes).toBeGreaterThan(0);

    const d1Ctx: ServiceCtx = { db: createDb(env.DB), env, user: authUser(user), requestId: "t" };
    const page = { limit: 100, offset: 0 };
    const url = `http://remo.test/api/v1/ui/datasets/${seeded.datasetId}/contents?classes=Car`;
    const fromD1 = {
      contents: await listContents(d1Ctx, seeded.datasetId, null, page),
      search: await searchContents(d1Ctx, seeded.datasetId, { ...page, classes: "Car" } as never, url),
    };
    const fromStore = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const local = sqlStorageAsD1(state.storage);
      const ctx: ServiceCtx = { db: createDb(local), env: { ...env, DB: local }, user: authUser(user), requestId: "t" };
      return {
        contents: await listContents(ctx, seeded.datasetId, null, page),
        search: await searchContents(ctx, seeded.datasetId, { ...page, classes: "Car" } as never, url),
      };
    });
    expect(fromD1.contents.count).toBe(seeded.imageIds.size);
    expect(fromD1.search.results.length, JSON.stringify(fromD1.search).slice(0, 300)).toBeGreaterThan(0);
    expect(unsigned(fromStore)).toEqual(unsigned(fromD1));
  });

  it("resumes a copy cut short, and a copy run twice adds nothing", async () => {
    const user = await createUser();
    const seeded = await seedFixtureSet(user);
    // A second set, so the per-set tables are walked set by set.
    await seedSet(user, {
      task: "image_classification",
      datasetId: seeded.datasetId,
      images: [1, 2, 3, 4].map((i) => ({ name: `extra-${i}.jpg`, width: 64, height: 48, classes: ["Cat", "Dog"].slice(0, i % 2 ? 1 : 2), tags: ["t0", `t${i}`] })),
    });
    let calls = 0;
    for (let p = await copyDatasetToStore(env, seeded.datasetId, { budgetMs: 0, pageRows: 3 }); !p.done; calls++) {
      expect(calls).toBeLessThan(500);
      p = await copyDatasetToStore(env, seeded.datasetId, { budgetMs: 5, pageRows: 3 });
    }
    expect(calls).toBeGreaterThan(1);
    const check = await compareStoreCounts(env, seeded.datasetId);
    expect(check.equal, JSON.stringify(check)).toBe(true);
    expect(check.d1.annotation_sets).toBe(2);
    expect(check.d1.image_tags).toBeGreaterThan(8);
    const again = await copyDatasetToStore(env, seeded.datasetId);
    expect(again).toEqual({ done: true, copied: 0 });
    expect((await compareStoreCounts(env, seeded.datasetId)).equal).toBe(true);
    // The tables SQLite's triggers keep are never copied: the object's triggers rebuilt them from the copied rows.
    const kept = [
      ["SELECT folder_id, image_count FROM folder_image_counts WHERE dataset_id = ? ORDER BY folder_id", seeded.datasetId],
      ["SELECT st.set_id, st.tag_id, st.image_count FROM set_tag_counts st JOIN annotation_sets s ON s.id = st.set_id WHERE s.dataset_id = ? ORDER BY 1, 2", seeded.datasetId],
    ] as const;
    for (const [query, id] of kept) {
      const inD1 = (await env.DB.prepare(query).bind(id).all()).results;
      const inStore = await runInDurableObject(datasetStore(env, seeded.datasetId), (_o, state) => state.storage.sql.exec(query, id).toArray());
      expect(inD1.length).toBeGreaterThan(0);
      expect(inStore).toEqual(inD1);
    }
  });

  it("loses and doubles nothing when two copies of one dataset run at once (a retried queue message)", async () => {
    const user = await createUser();
    const seeded = await seedFixtureSet(user);
    const copyAll = async () => {
      for (let p = await copyDatasetToStore(env, seeded.datasetId, { pageRows: 4 }); !p.done; )
        p = await copyDatasetToStore(env, seeded.datasetId, { pageRows: 4 });
    };
    await Promise.all([copyAll(), copyAll()]);
    const check = await compareStoreCounts(env, seeded.datasetId);
    expect(check.equal, JSON.stringify(check)).toBe(true);
    expect(check.d1.annotation_objects).toBe(40);
  });

  it("never copies the owner's password hash into the object", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    await copyDatasetToStore(env, ds.id);
    const owner = await runInDurableObject(datasetStore(env, ds.id), (_o, state) =>
      state.storage.sql.exec("SELECT id, email, password_hash FROM users").toArray(),
    );
    expect(owner).toEqual([{ id: user.id, email: user.email, password_hash: "" }]);
  });

  it("leaves nothing of a chunk whose write fails half-way", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    await copyDatasetToStore(env, ds.id);
    const stub = datasetStore(env, ds.id);
    const before = await stub.counts();
    const columns = ["__rowid", "id", "dataset_id", "name"];
    const failure = (p: Promise<unknown>) => p.then(() => "written", (e: Error) => e.message);
    const bad = await failure(
      stub.importRows("folders", {
        columns,
        rows: [
          [900001, 900001, ds.id, "first"],
          [900002, 900002, ds.id], // too short: the chunk fails after one row went in
        ],
      }),
    );
    expect(bad).toMatch(/row width/);
    expect(await stub.counts()).toEqual(before);
    expect(await failure(stub.importRows("api_keys", { columns: ["__rowid"], rows: [[1]] }))).toMatch(/not a DatasetStore table/);
  });

  it("deletes the object's data when the dataset is deleted", async () => {
    const user = await createUser();
    const seeded = await seedFixtureSet(user);
    await copyDatasetToStore(env, seeded.datasetId);
    const stub = datasetStore(env, seeded.datasetId);
    expect(await stub.isProvisioned()).toBe(true);
    await expectStatus(
      (await import("../../../test/helpers/api")).del(`/api/v1/ui/datasets/${seeded.datasetId}/`, user.key),
      204,
    );
    expect(await stub.isProvisioned()).toBe(false);
    expect(await tablesOf(stub)).toEqual([]);
  });

  it("empties the object from the queue when deleting it inline was deferred", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    await copyDatasetToStore(env, ds.id);
    const stub = datasetStore(env, ds.id);
    expect(await stub.isProvisioned()).toBe(true);
    const body = { type: "destroy-dataset-store", datasetId: ds.id };
    const batch = createMessageBatch("remo-ingest", [{ id: "m-destroy", timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch as never, env as never);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toContain("m-destroy");
    expect(await stub.isProvisioned()).toBe(false);
  });
});
