import { env } from "cloudflare:test";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { expectStatus } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import { makePng } from "./helpers/image-fixtures";
import { sessionSetId, setObjects, uploadMultipart, waitForSession, zip } from "./helpers/upload-helpers";
import { runBatch } from "../src/lib/d1";
import { createAnnotationSet, normalizeClassList, orderSetClassesStatements } from "../src/services/annotations/sets";
import { createDb } from "../src/db/client";

/** Imported class lists: large ones stay linear, bind in D1-sized pieces, and past 10,000 names are refused. */

const longNames = (n: number, len: number) => Array.from({ length: n }, (_, i) => `c${i}-${"x".repeat(len)}`);

describe("class lists", () => {
  // No timing here (speed lives in benchmarks): 200,000 names took the quadratic version minutes, past the test
  // timeout, and take a linear one milliseconds.
  it("normalizeClassList de-duplicates 200,000 names, first-seen order kept", () => {
    const names = Array.from({ length: 200_000 }, (_, i) => `name ${i}`);
    const out = normalizeClassList([...names, "NAME 0", "", " name  1 "]);
    expect(out.length).toBe(200_000);
    expect(out.slice(0, 2)).toEqual(["Name 0", "Name 1"]);
  });

  it("a long list binds no parameter near D1's 2,000,000-byte value limit", () => {
    const dialect = new SQLiteSyncDialect();
    const statements = orderSetClassesStatements(1, longNames(10_000, 300), true);
    for (const st of statements)
      for (const p of dialect.sqlToQuery(st).params)
        if (typeof p === "string") expect(new TextEncoder().encode(p).length).toBeLessThan(1_000_000);
  });

  it("a list bound in several chunks still orders the set's classes by the list, others after", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const db = createDb(env.DB);
    const set = await createAnnotationSet(db, {
      datasetId: ds.id,
      name: "s",
      task: "object_detection",
      classes: ["Zeta", "Alpha"],
    });
    const names = longNames(900, 1000); // ~900 KB of JSON: several chunks
    const list = [names[5], "alpha", ...names];
    await runBatch(env.DB, orderSetClassesStatements(set.id, list, true));
    const rows = await env.DB.prepare(
      "SELECT c.name, sc.position FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ? ORDER BY sc.position",
    )
      .bind(set.id)
      .all<{ name: string; position: number }>();
    const expected = normalizeClassList([...list, "Zeta"]);
    expect(rows.results.map((r) => r.name)).toEqual(expected);
    expect(rows.results.map((r) => r.position)).toEqual(expected.map((_, i) => i));
  });

  it("a classes.txt of more than 10,000 names is refused by name", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const classes = Array.from({ length: 10_001 }, (_, i) => `k${i}`).join("\n");
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          {
            name: "up.zip",
            bytes: zip({
              "images/a.png": makePng(100, 100),
              "labels/a.txt": "0 0.5 0.5 0.2 0.2\n",
              "classes.txt": classes,
            }),
          },
        ],
        { complete: "true", annotation_task: "Object detection" },
      ),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.annotations.errors).toContainEqual({
      filename: "classes.txt",
      errors: ["classes.txt lists 10001 classes: the limit is 10,000"],
    });
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM classes WHERE name = 'K10000'").first<{ n: number }>();
    expect(n?.n).toBe(0);
  });
});

async function uploadZip(files: Record<string, Uint8Array | string>) {
  const u = await createUser();
  const ds = await createDataset(u);
  const r = await expectStatus(
    uploadMultipart(u.key, ds.id, [{ name: "up.zip", bytes: zip(files) }], {
      complete: "true",
      annotation_task: "Object detection",
    }),
    200,
  );
  const s = await waitForSession(u.key, r.session_id);
  return { s, setId: await sessionSetId(r.session_id) };
}

describe("the YOLO class list file a label file reads", () => {
  it("is matched by its exact base name at any depth: metadata.yaml and myclasses.yaml are not class lists", async () => {
    const { s, setId } = await uploadZip({
      "metadata.yaml": "names: [wrong0, wrong1]\n",
      "ds/myclasses.yaml": "names: [bad0, bad1]\n",
      "ds/images/a.png": makePng(100, 100),
      "ds/labels/a.txt": "1 0.5 0.5 0.5 0.5\n",
      "ds/cfg/data.yaml": "names: [cat, dog]\n",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(setId)).toEqual(new Map([["a.png|25,25,75,75", ["Dog"]]]));
  });

  it("prefers classes.txt to a data.yaml listed before it", async () => {
    const { s, setId } = await uploadZip({
      "data.yaml": "names: [a, b]\n",
      "images/a.png": makePng(100, 100),
      "labels/a.txt": "1 0.5 0.5 0.5 0.5\n",
      "x/classes.txt": "cat\ndog\n",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(setId)).toEqual(new Map([["a.png|25,25,75,75", ["Dog"]]]));
  });

  it("larger than 4 MiB is not read: each label file gets an error naming it and the limit", async () => {
    const { s } = await uploadZip({
      "images/a.png": makePng(100, 100),
      "labels/a.txt": "0 0.5 0.5 0.5 0.5\n",
      "classes.txt": "cat\n" + "#".repeat(4 * 1024 * 1024),
    });
    expect(s.annotations.errors).toContainEqual({
      filename: "a.txt",
      errors: ["a.txt: its class list classes.txt is larger than 4194304 bytes (4 MiB); labels not imported"],
    });
    expect(s.annotations.errors).toContainEqual({
      filename: "classes.txt",
      errors: ["class list classes.txt is larger than 4194304 bytes (4 MiB)"],
    });
  });
});
