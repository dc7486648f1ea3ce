import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { forgetMovedRoutes } from "../forward";
import { call, expectStatus } from "../../../test/helpers/api";
import { createUser } from "../../../test/helpers/factories";
import { seedFixtureSet } from "../../../test/helpers/seed-annotations";
import { DATASET_TABLES, MixedStatementError, TRIGGER_KEPT_TABLES, SCHEMA_TABLES, namesIn, ownRegistryRead, routeOf, splitD1 } from "../split-d1";
import { sqlStorageAsD1 } from "../sql-d1";
import { datasetStore } from "../store";
import { deliver, superuser } from "./helpers";
import { STORE_TABLES } from "../tables";

// Each case starts from empty storage, so dataset, set and image ids come round again.
afterEach(forgetMovedRoutes);

describe("routeOf: where each statement runs", () => {
  const cases: [string, ReturnType<typeof routeOf>][] = [
    ["SELECT * FROM images WHERE dataset_id = ?", "local"],
    ['select "id", "name" from "annotations" where "set_id" = ?', "local"],
    ["SELECT a.id FROM annotation_classes ac JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ?", "local"],
    ["SELECT i.*, d.owner_id FROM images i JOIN datasets d ON d.id = i.dataset_id WHERE i.id = ?", "local"],
    ["WITH own AS (SELECT id FROM images WHERE dataset_id = ?1) SELECT count(*) FROM own", "local"],
    ["SELECT 1", "local"],
    ["SELECT * FROM api_keys WHERE key_hash = ?", "remote"],
    ["SELECT * FROM datasets WHERE owner_id = ? AND name = ?", "remote"],
    ["SELECT id, name FROM classes WHERE name IN (SELECT value FROM json_each(?))", "mirror-read"],
    ["SELECT id FROM tags WHERE name = ?", "mirror-read"],
    ["SELECT id, email FROM users WHERE id = ?", "remote"],
    ["SELECT value FROM json_each(?)", "local"],
    ['insert into "upload_sessions" ("id", "dataset_id") values (?, ?)', "remote"],
    ["INSERT INTO users (email, name, password_hash) VALUES (?, ?, ?)", "remote"],
    ["INSERT OR IGNORE INTO classes (name) SELECT value FROM json_each(?)", "mirror-write"],
    ["INSERT OR IGNORE INTO tags (name) VALUES (?)", "mirror-write"],
    ["INSERT INTO classes (name) VALUES (?) ON CONFLICT DO NOTHING RETURNING id", "mirror-write"],
    ['update "datasets" set "name" = ? where "datasets"."id" = ?', "registry-write"],
    ["DELETE FROM datasets WHERE id = ?", "registry-write"],
    ["UPDATE datasets SET image_count = image_count - (SELECT COUNT(*) FROM images WHERE folder_id = ?) WHERE id = ?", "local-registry"],
    ["UPDATE datasets SET image_count = image_count + 1 WHERE id = ? AND changes() = 1", "local-registry"],
    ['insert into "annotation_sets" ("id", "dataset_id", "name") values (null, ?, ?) returning "id"', "set-insert"],
    ['update "annotation_sets" set "name" = ?, "updated_at" = ? where "annotation_sets"."id" = ?', "set-rename"],
    ["UPDATE annotation_sets SET last_annotated_at = ?, updated_at = ? WHERE id = ?", "local"],
    ["DELETE FROM annotation_sets WHERE id = ?", "set-delete"],
    ["INSERT OR IGNORE INTO blob_gc (r2_key) SELECT DISTINCT r2_key FROM images WHERE id = ? AND linked = 0", "mixed"],
    ["SELECT 1 FROM images i JOIN upload_sessions s ON s.dataset_id = i.dataset_id", "mixed"],
    ["INSERT OR IGNORE INTO classes (name) SELECT c.name FROM annotation_classes c", "mixed"],
  ];
  it.each(cases)("%s → %s", (sql, route) => expect(routeOf(sql)).toBe(route));

  it("reads the dataset's own registry row in the object, and every other registry read in D1", () => {
    const access = 'select "id", "owner_id", "name" from "datasets" where "datasets"."id" = ? limit ?';
    expect(ownRegistryRead(access, [7, 1], 7)).toBe(true);
    expect(ownRegistryRead("SELECT * FROM datasets WHERE id = ?1", [7], 7)).toBe(true);
    expect(ownRegistryRead(access, [8, 1], 7)).toBe(false);
    expect(ownRegistryRead("SELECT * FROM datasets WHERE owner_id = ?", [7], 7)).toBe(false);
    expect(ownRegistryRead("SELECT * FROM datasets WHERE id = ? OR is_public = 1", [7], 7)).toBe(false);
    expect(ownRegistryRead("UPDATE datasets SET name = ? WHERE id = ?", [7], 7)).toBe(false);
  });

  it("refuses an image insert without a reserved id: the object's own sequence would give ids no range names", () => {
    const db = splitD1(env.DB, env.DB, 1);
    const cols = "dataset_id, original_name, sha256, r2_key, mime, size, width, height";
    expect(() => db.prepare(`INSERT INTO images (${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)).toThrow(MixedStatementError);
    expect(() => db.prepare(`INSERT OR IGNORE INTO "images" (${cols}) SELECT 1, 2, 3, 4, 5, 6, 7, 8`)).toThrow(/reserved id/);
    expect(() => db.prepare(`INSERT OR IGNORE INTO images (id, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)).not.toThrow();
    expect(() => db.prepare("INSERT INTO image_tags (set_id, image_id, tag_id) VALUES (?, ?, ?)")).not.toThrow();
  });

  it("pulls names, not id lists: the strings bound, and the strings or {name} inside a bound JSON array", () => {
    expect(namesIn(["[1,2,3]", 5, "Car", '["a","b"]', '[{"name":"x","coordinates":[1]}]', "[not json"])).toEqual(["Car", "a", "b", "x", "[not json"]);
  });

  it("knows every table of the schema, and the object's tables are the copy's (tables.ts) but for the mirrors, and those triggers keep", () => {
    const copied = STORE_TABLES.map((t) => t.name).filter((n) => !["users", "classes", "tags", "datasets"].includes(n));
    expect([...DATASET_TABLES].sort()).toEqual([...copied, ...TRIGGER_KEPT_TABLES].sort());
    for (const t of DATASET_TABLES) expect(SCHEMA_TABLES.has(t)).toBe(true);
    expect(SCHEMA_TABLES.has("api_keys")).toBe(true);
  });
});

/** A dataset moved to its store, through the operator route and the switch-over job. */
async function movedDataset() {
  const op = await superuser();
  const seeded = await seedFixtureSet(await createUser());
  await expectStatus(call("POST", `/api/v1/admin/dataset-stores/${seeded.datasetId}/switch`, { key: op.key }), 202);
  await deliver({ type: "switch-dataset-store", datasetId: seeded.datasetId, fresh: true });
  return seeded;
}

const d1Count = (datasetId: number) =>
  env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(datasetId).first<number>("image_count");

describe("splitD1 inside a DatasetStore", () => {
  it("refuses a mixed batch that chains changes() before running any of it", async () => {
    const seeded = await movedDataset();
    const before = await d1Count(seeded.datasetId);
    const err = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const db = splitD1(sqlStorageAsD1(state.storage), env.DB, seeded.datasetId);
      const local = () => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM folders").one().n;
      const n0 = local();
      const e = await db
        .batch([
          db.prepare("INSERT INTO folders (dataset_id, name) VALUES (?, 'x')").bind(seeded.datasetId),
          // A control-plane counter chained on the object's insert: changes() cannot cross to D1.
          db.prepare("UPDATE upload_sessions SET images_total = images_total + 1 WHERE dataset_id = ? AND changes() = 1").bind(seeded.datasetId),
        ])
        .then(
          () => null,
          (x: Error) => x,
        );
      return { name: e?.name, status: (e as MixedStatementError | null)?.status, same: local() === n0 };
    });
    expect(err).toEqual({ name: "MixedStatementError", status: 501, same: true });
    expect(await d1Count(seeded.datasetId)).toBe(before);
  });

  it("runs a registry counter chained on changes() in the object, with the insert, and copies the counters to D1", async () => {
    const seeded = await movedDataset();
    const out = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const db = splitD1(sqlStorageAsD1(state.storage), env.DB, seeded.datasetId);
      const count = () => state.storage.sql.exec<{ n: number }>("SELECT image_count AS n FROM datasets").one().n;
      const n0 = count();
      await db.batch([
        db.prepare("INSERT OR IGNORE INTO folders (dataset_id, name) VALUES (?, 'chained')").bind(seeded.datasetId),
        db.prepare("UPDATE datasets SET image_count = image_count + 1 WHERE id = ? AND changes() = 1").bind(seeded.datasetId),
      ]);
      return { n0, n1: count() };
    });
    expect(out.n1).toBe(out.n0 + 1);
    const registry = await env.DB.prepare("SELECT image_count FROM datasets WHERE id = ?").bind(seeded.datasetId).first("image_count");
    expect(registry).toBe(out.n1);
  });

  it("writes a new global tag to D1 first and mirrors it before the object's rows that reference it", async () => {
    const seeded = await movedDataset();
    const [imageId] = seeded.imageIds.values();
    const out = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const db = splitD1(sqlStorageAsD1(state.storage), env.DB, seeded.datasetId);
      await db.batch([
        db.prepare("INSERT OR IGNORE INTO tags (name) SELECT value FROM json_each(?)").bind(JSON.stringify(["split-tag"])),
        db
          .prepare("INSERT INTO image_tags (set_id, image_id, tag_id) SELECT ?, ?, id FROM tags WHERE name = 'split-tag'")
          .bind(seeded.setId, imageId),
      ]);
      return state.storage.sql
        .exec<{ id: number }>("SELECT t.id FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE t.name = 'split-tag'")
        .toArray()
        .map((r) => r.id);
    });
    const d1Tag = await env.DB.prepare("SELECT id FROM tags WHERE name = 'split-tag'").first<number>("id");
    expect(out).toEqual([d1Tag]);
    const d1Rows = await env.DB.prepare("SELECT count(*) AS n FROM image_tags WHERE tag_id = ?").bind(d1Tag).first<number>("n");
    expect(d1Rows).toBe(0);
  });

  it("asks D1 only for names the mirror lacks, once per request until it writes a class, and still sees new ones", async () => {
    const seeded = await movedDataset();
    const known = await env.DB.prepare(
      "SELECT c.name, c.id FROM classes c WHERE c.id IN (SELECT class_id FROM annotation_set_classes WHERE set_id = ?) ORDER BY c.id LIMIT 1",
    )
      .bind(seeded.setId)
      .first<{ name: string; id: number }>();
    const elsewhere = `made elsewhere ${Math.random()}`;
    const out = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const remote = new CountingD1(env.DB);
      const db = splitD1(sqlStorageAsD1(state.storage), remote as unknown as D1Database, seeded.datasetId);
      const byName = (name: string) => db.prepare("SELECT id FROM classes WHERE name = ?").bind(name).first<number>("id");
      const trips: Record<string, number> = {};
      const step = async (label: string, fn: () => Promise<unknown>) => {
        const before = remote.trips;
        const v = await fn();
        trips[label] = remote.trips - before;
        return v;
      };
      const knownId = await step("known", () => byName(known!.name));
      await step("missing", () => byName("no such class"));
      const missingAgain = await step("missing again", () => byName("no such class"));
      // Another request (another dataset) creates a class in D1: a name never asked is looked up and found.
      await env.DB.prepare("INSERT INTO classes (name) VALUES (?)").bind(elsewhere).run();
      const elsewhereId = await step("elsewhere", () => byName(elsewhere));
      // This request creates the missing one: asking again must see it, not the earlier miss.
      await step("write", () => db.prepare("INSERT OR IGNORE INTO classes (name) VALUES (?)").bind("no such class").run());
      const created = await step("after write", () => byName("no such class"));
      return { knownId, missingAgain, elsewhereId, created, trips };
    });
    expect(out.knownId).toBe(known!.id);
    expect(out.missingAgain).toBeNull();
    expect(out.elsewhereId).toBe(await env.DB.prepare("SELECT id FROM classes WHERE name = ?").bind(elsewhere).first("id"));
    expect(out.created).toBe(await env.DB.prepare("SELECT id FROM classes WHERE name = 'no such class'").first("id"));
    expect(out.trips).toEqual({ known: 0, missing: 1, "missing again": 0, elsewhere: 1, write: 2, "after write": 0 });
  });

  it("runs an insert-or-ignore of names the mirror holds in the object alone, and sends one with a new name to D1", async () => {
    const seeded = await movedDataset();
    const known = (
      await env.DB.prepare("SELECT c.name FROM classes c WHERE c.id IN (SELECT class_id FROM annotation_set_classes WHERE set_id = ?) ORDER BY c.id LIMIT 2")
        .bind(seeded.setId)
        .all<{ name: string }>()
    ).results.map((r) => r.name);
    const fresh = `fresh ${Math.random()}`;
    const out = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      const remote = new CountingD1(env.DB);
      const db = splitD1(sqlStorageAsD1(state.storage), remote as unknown as D1Database, seeded.datasetId);
      const ensure = (names: string[]) =>
        db.batch([
          db.prepare("INSERT OR IGNORE INTO classes (name) SELECT value FROM json_each(?)").bind(JSON.stringify(names)),
          db.prepare("SELECT count(*) AS n FROM annotation_set_classes WHERE set_id = ?").bind(seeded.setId),
        ]);
      const held = await ensure(known);
      const heldTrips = remote.trips;
      const single = await db.prepare("INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO NOTHING").bind("never held").run();
      const singleTrips = remote.trips - heldTrips;
      await ensure([...known, fresh]);
      const mirrored = state.storage.sql.exec<{ id: number }>("SELECT id FROM classes WHERE name = ?", fresh).toArray();
      return { heldChanges: held[0].meta.changes, heldTrips, single: single.meta.changes, singleTrips, freshTrips: remote.trips - heldTrips - singleTrips, mirrored };
    });
    expect(out).toMatchObject({ heldChanges: 0, heldTrips: 0, single: 1 });
    expect(out.singleTrips).toBeGreaterThan(0);
    expect(out.freshTrips).toBeGreaterThan(0);
    const d1Id = await env.DB.prepare("SELECT id FROM classes WHERE name = ?").bind(fresh).first<number>("id");
    expect(out.mirrored).toEqual([{ id: d1Id }]);
  });

  it("repairs D1's registry counters on the next write after a crash between the object's write and the push", async () => {
    const seeded = await movedDataset();
    const repaired = await runInDurableObject(datasetStore(env, seeded.datasetId), async (_o, state) => {
      // The crash: the object's counter moved, D1's did not.
      state.storage.sql.exec("UPDATE datasets SET image_count = image_count + 7 WHERE id = ?", seeded.datasetId);
      const db = splitD1(sqlStorageAsD1(state.storage), env.DB, seeded.datasetId);
      await db
        .prepare("UPDATE datasets SET size_in_bytes = (SELECT COALESCE(SUM(size), 0) FROM images WHERE dataset_id = ?1) WHERE id = ?1")
        .bind(seeded.datasetId)
        .run();
      return state.storage.sql.exec<{ n: number }>("SELECT image_count AS n FROM datasets WHERE id = ?", seeded.datasetId).one().n;
    });
    expect(repaired).toBe(seeded.imageIds.size + 7);
    expect(await d1Count(seeded.datasetId)).toBe(repaired);
  });
});

/** D1 that counts the round trips made through it (each statement run, each batch); the binding does the work. */
class CountingD1 {
  trips = 0;
  constructor(readonly db: D1Database) {}
  prepare(query: string) {
    return new CountingStatement(this, this.db.prepare(query));
  }
  batch(statements: CountingStatement[]) {
    this.trips++;
    return this.db.batch(statements.map((s) => s.st));
  }
}

class CountingStatement {
  constructor(
    readonly d1: CountingD1,
    readonly st: D1PreparedStatement,
  ) {}
  bind(...values: unknown[]) {
    return new CountingStatement(this.d1, this.st.bind(...values));
  }
  first(column?: string) {
    this.d1.trips++;
    return column === undefined ? this.st.first() : this.st.first(column);
  }
  all() {
    this.d1.trips++;
    return this.st.all();
  }
  run() {
    this.d1.trips++;
    return this.st.run();
  }
  raw(options?: { columnNames?: boolean }) {
    this.d1.trips++;
    return options?.columnNames ? this.st.raw({ columnNames: true }) : this.st.raw();
  }
}
