import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../src/db/client";
import { parsePlainCsv } from "../src/formats/import-csv";
import { parseTagsCsv } from "../src/formats/import-tags";
import { probeImage } from "../src/media/probe";
import { applyImport } from "../src/services/annotations/import";
import { expectStatus, get, post } from "./helpers/api";
import { createDataset, createUser, insertImage, type TestUser } from "./helpers/factories";
import { fixtureCsvRows } from "./helpers/upload-helpers";
import { datasetD1 } from "./helpers/dataset-rows";

const DIR = "http://fixtures/local/remo-object-detection";
const NAMES = ["001a794d1865ee47.jpg", "001a809ad40a2f84.jpg", "00acf53b127218c2.jpg", "00b562abdf5766d3.jpg", "00b75a8487446cdd.jpg", "00d2a568dd4afd0d.jpg", "00d9efcc4d1fda53.jpg"];

let user: TestUser;
let datasetId: number;
let setId: number;
let rows: ReturnType<typeof fixtureCsvRows>;
let tagRows: { file: string; tag: string }[];
const ids = new Map<string, number>();

beforeAll(async () => {
  user = await createUser();
  datasetId = (await createDataset(user)).id;
  for (const name of NAMES) {
    const bytes = new Uint8Array(await (await env.FIXTURES.fetch(`${DIR}/images/${name}`)).arrayBuffer());
    const info = probeImage(bytes)!;
    ids.set(name, (await insertImage(datasetId, { name, bytes, width: info.width, height: info.height })).id);
  }
  const set = await expectStatus(post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: datasetId, name: "Object detection" }, user.key), 201);
  setId = set.id;
  const csv = await (await env.FIXTURES.fetch(`${DIR}/annotations/annotations.csv`)).text();
  const tags = await (await env.FIXTURES.fetch(`${DIR}/annotations/images_tags.csv`)).text();
  rows = fixtureCsvRows(csv);
  tagRows = tags.trim().split(/\r?\n/).slice(1).map((l) => ({ file: l.split(",")[0], tag: l.split(",")[1].trim().toLowerCase() }));
  const db = createDb(datasetD1(datasetId)); // where the dataset lives (test/helpers/dataset-rows.ts)
  const opts = { datasetId, setId, task: "object_detection" as const, skipNewClasses: false };
  const parsed = parsePlainCsv(csv, "object_detection")!;
  const r = await applyImport(db, opts, parsed.records);
  expect(r.missing).toEqual([]);
  await applyImport(db, opts, parseTagsCsv(tags)!.records);
});

describe("the remo-object-detection fixture, imported", () => {
  it("list_annotation_sets statistics match the CSV exactly", async () => {
    const body = await expectStatus(get(`/api/v1/ui/datasets/${datasetId}/annotation-sets/`, user.key), 200);
    const s = body.results[0].statistics;
    const perClass = new Map<string, number>();
    for (const r of rows) perClass.set(r.cls, (perClass.get(r.cls) ?? 0) + 1);
    const annotated = new Set([...rows.map((r) => r.file), ...tagRows.map((t) => t.file)]);
    expect(s.total_annotation_objects).toBe(rows.length);
    expect(s.annotated_images_count).toBe(annotated.size);
    expect(s.total_classes).toBe(perClass.size);
    expect(Object.fromEntries(s.all_classes.map((c: any) => [c.name, c.count]))).toEqual(Object.fromEntries(perClass));
    const top3 = [...perClass].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
    expect(s.top3_classes).toEqual(top3.map(([name, count]) => ({ name, count })));
    expect(s.tags.sort()).toEqual([...new Set(tagRows.map((t) => t.tag))].sort());
    expect(s.images_without_annotations).toBe(NAMES.length - annotated.size);
    expect(body.results[0].total_images).toBe(NAMES.length);
  });

  it("classes=Person returns exactly the images with a Person row, with their boxes", async () => {
    const expected = [...new Set(rows.filter((r) => r.cls === "Person").map((r) => r.file))].map((f) => ids.get(f)!).sort((a, b) => a - b);
    const body = await expectStatus(get(`/api/v1/ui/datasets/${datasetId}/contents/?classes=person&sets=${setId}`, user.key), 200);
    expect(body.count).toBe(expected.length);
    expect(body.results.map((r: any) => r.image.id)).toEqual(expected);
    for (const item of body.results) {
      const name = item.image.name;
      const ann = item.image.annotations;
      expect(ann).toHaveLength(1);
      const boxes = ann[0].coordinates.map((pts: any[]) => [pts[0].x, pts[0].y, pts[1].x, pts[1].y]);
      const want = rows.filter((r) => r.file === name).map((r) => r.box);
      expect(boxes.sort()).toEqual(want.sort());
      const personBoxes = rows.filter((r) => r.file === name && r.cls === "Person").length;
      expect(ann[0].object_classes.filter((c: string[]) => c.includes("Person")).length).toBe(personBoxes);
    }
  });

  it("follows `next` through every page, as search_images does", async () => {
    const all = [...new Set(rows.map((r) => r.file))].map((f) => ids.get(f)!).sort((a, b) => a - b);
    let url: string | null = `/api/v1/ui/datasets/${datasetId}/contents/?sets=${setId}&classes_not=Nothing-like-this&limit=2`;
    const seen: number[] = [];
    let pages = 0;
    while (url) {
      const page: any = await expectStatus(get(url, user.key), 200);
      seen.push(...page.results.map((r: any) => r.image.id));
      url = page.next;
      if (++pages > 10) throw new Error("next never ends");
    }
    // `sets` given: images with no annotation row in the set are not results (Remo's WHERE on the joined row).
    const annotatedIds = [...new Set([...rows.map((r) => r.file), ...tagRows.map((t) => t.file)])].map((f) => ids.get(f)!).sort((a, b) => a - b);
    expect(seen).toEqual(annotatedIds);
    expect(all.every((id) => seen.includes(id))).toBe(true);
  });
});
