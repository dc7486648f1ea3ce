import { datasetD1, inDataset } from "./helpers/dataset-rows";
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createDb } from "../src/db/client";
import { parseCoco } from "../src/formats/import-coco";
import { COCO_ANNOTATIONS_PER_BATCH, streamCoco } from "../src/formats/import-coco-stream";
import type { ImportRecord } from "../src/formats/types";
import { applyImport } from "../src/services/annotations/import";
import { createAnnotationSet } from "../src/services/annotations/sets";
import { ANNOTATIONS_PHASE } from "../src/services/ingest/progress";
import { MAX_ANNOTATION_FILE, MAX_COCO_FILE } from "../src/services/ingest/annotations";
import { expectStatus, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { fixture, FIXTURE_IMAGES, setObjects, waitForSession, zip } from "./helpers/upload-helpers";

/** A service run on the dataset's own database (D1, or its DatasetStore: test/helpers/dataset-rows.ts). */
const onDataset = <T>(datasetId: number, fn: (db: ReturnType<typeof createDb>) => Promise<T>) =>
  inDataset(datasetId, (x) => fn(createDb(x)));

/** Counters of a set as the statistics routes read them; classes by name (positions follow first sight). */
async function setState(setId: number) {
  const set = await datasetD1({ setId }).prepare(
    "SELECT annotated_images, done_count, skipped_count, total_objects FROM annotation_sets WHERE id = ?",
  )
    .bind(setId)
    .first();
  const classes = await datasetD1({ setId }).prepare(
    "SELECT c.name, sc.object_count, sc.image_count FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ? ORDER BY c.name",
  )
    .bind(setId)
    .all();
  const objects = await setObjects(setId);
  return { set, classes: classes.results, objects: [...objects].sort() };
}

async function openFrom(key: string) {
  const obj = await env.BUCKET.get(key);
  expect(obj, key).not.toBeNull();
  return obj!.body;
}

/** A small COCO file in the usual key order (categories last), where a.jpg's boxes are spread out. */
function smallCoco() {
  const layout: [number, number, number[]][] = [
    // [image_id, category_id, bbox]
    [10, 1, [1, 1, 10, 10]],
    [20, 2, [5, 5, 20, 20]],
    [10, 2, [2, 2, 10, 10]],
    [10, 1, [3, 3, 10, 10]],
    [20, 1, [6, 6, 20, 20]],
    [10, 3, [4, 4, 10, 10]],
    [10, 2, [1, 1, 10, 10]], // a.jpg's first box again, another class: one object with both
    [10, 7, [5, 5, 10, 10]], // unknown category → "None"
    [30, 1, [1, 1, 2, 2]], // unknown image id
    [20, 3, [7, 7, 20, 20]],
    [10, 1, [6, 6, 10, 10]],
  ];
  return JSON.stringify({
    info: { description: "streamed", year: 2026 },
    licenses: [{ id: 1, name: "CC BY [4.0]" }],
    images: [
      { id: 10, file_name: "a.jpg", width: 640, height: 480 },
      { id: 20, file_name: "b.jpg", width: 640, height: 480 },
    ],
    annotations: layout.map(([image_id, category_id, bbox], i) => ({ id: i + 1, image_id, category_id, bbox })),
    categories: [
      { id: 1, name: "car" },
      { id: 2, name: "person" },
      { id: 3, name: "dog" },
    ],
  });
}

async function twoSets() {
  const u = await createUser();
  const d = await createDataset(u);
  for (const name of ["a.jpg", "b.jpg"]) await insertImage(d.id, { name, width: 640, height: 480 });
  const mk = (name: string) => onDataset(d.id, (x) => createAnnotationSet(x, { datasetId: d.id, name, task: "object_detection" }));
  return { d, streamed: await mk("Streamed"), whole: await mk("Whole") };
}

describe("COCO import, streamed", () => {
  it("spreads an image over several batches yet ends in the same state as one whole-file import", async () => {
    const { d, streamed, whole } = await twoSets();
    const key = `coco-test/${crypto.randomUUID()}.json`;
    const text = smallCoco();
    await env.BUCKET.put(key, text);
    const opts = (setId: number) => ({
      datasetId: d.id,
      setId,
      task: "object_detection" as const,
      skipNewClasses: false,
    });

    const batches: ImportRecord[][] = [];
    const r = await streamCoco(
      () => openFrom(key),
      "object_detection",
      async (records) => {
        batches.push(records);
        await onDataset(d.id, (x) => applyImport(x, opts(streamed.id), records));
      },
      { batchSize: 3 },
    );
    expect(batches.map((b) => b.map((rec) => rec.fileName))).toEqual([
      ["a.jpg", "b.jpg"],
      ["a.jpg", "b.jpg"],
      ["a.jpg"],
      ["b.jpg", "a.jpg"],
    ]);
    expect(r).toEqual({
      format: "coco",
      records: 7,
      warnings: [{ message: "1 image_id(s) referenced by annotations are not in images[]: 30" }],
    });

    const parsed = (await parseCoco(text, "object_detection"))!;
    expect(parsed.warnings).toEqual(r!.warnings);
    await onDataset(d.id, (x) => applyImport(x, opts(whole.id), parsed.records));

    const state = await setState(streamed.id);
    expect(state).toEqual(await setState(whole.id));
    // Categories come after the annotations in the file and still name the classes.
    expect(state.objects).toEqual([
      ["a.jpg|1,1,11,11", ["Car", "Person"]],
      ["a.jpg|2,2,12,12", ["Person"]],
      ["a.jpg|3,3,13,13", ["Car"]],
      ["a.jpg|4,4,14,14", ["Dog"]],
      ["a.jpg|5,5,15,15", ["None"]],
      ["a.jpg|6,6,16,16", ["Car"]],
      ["b.jpg|5,5,25,25", ["Person"]],
      ["b.jpg|6,6,26,26", ["Car"]],
      ["b.jpg|7,7,27,27", ["Dog"]],
    ]);
    expect(state.set).toEqual({ annotated_images: 2, done_count: 2, skipped_count: 0, total_objects: 9 });
  });

  it("a retry after a crash part-way through, and a redelivery after success, leave what one clean run leaves", async () => {
    const { d, streamed, whole } = await twoSets();
    const key = `coco-test/${crypto.randomUUID()}.json`;
    await env.BUCKET.put(key, smallCoco());
    const apply = (setId: number) => async (records: ImportRecord[]) => {
      await onDataset(d.id, (x) => applyImport(x, { datasetId: d.id, setId, task: "object_detection", skipNewClasses: false }, records));
    };
    await streamCoco(() => openFrom(key), "object_detection", apply(whole.id), { batchSize: 1000 });
    const clean = await setState(whole.id);

    let calls = 0;
    const crashing = async (records: ImportRecord[]) => {
      if (++calls === 3) throw new Error("isolate went away");
      await apply(streamed.id)(records);
    };
    await expect(streamCoco(() => openFrom(key), "object_detection", crashing, { batchSize: 3 })).rejects.toThrow(
      "isolate went away",
    );
    expect((await setState(streamed.id)).set).toMatchObject({ total_objects: 6 });

    await streamCoco(() => openFrom(key), "object_detection", apply(streamed.id), { batchSize: 3 });
    expect(await setState(streamed.id)).toEqual(clean);
    await streamCoco(() => openFrom(key), "object_detection", apply(streamed.id), { batchSize: 2 });
    expect(await setState(streamed.id)).toEqual(clean);
  });

  it("is not COCO for image classification, for JSON of another shape, or for malformed JSON; refuses empty categories", async () => {
    const cases: [string, string][] = [
      ["classification", smallCoco()],
      ["shape", JSON.stringify({ images: [], annotations: [], categories: {} })],
      ["array", "[]"],
      ["broken", smallCoco().slice(0, -1)],
    ];
    for (const [what, text] of cases) {
      const key = `coco-test/${crypto.randomUUID()}.json`;
      await env.BUCKET.put(key, text);
      const task = what === "classification" ? "image_classification" : "object_detection";
      expect(
        await streamCoco(
          () => openFrom(key),
          task,
          async () => {},
        ),
        what,
      ).toBeNull();
    }
    const key = `coco-test/${crypto.randomUUID()}.json`;
    await env.BUCKET.put(key, JSON.stringify({ images: [], annotations: [], categories: [] }));
    await expect(
      streamCoco(
        () => openFrom(key),
        "object_detection",
        async () => {},
      ),
    ).rejects.toThrow("Empty list of categories");
  });

  it("refuses a file listing more images than the bound, before writing anything", async () => {
    const key = `coco-test/${crypto.randomUUID()}.json`;
    await env.BUCKET.put(key, smallCoco());
    const listed = (JSON.parse(smallCoco()) as { images: unknown[] }).images.length;
    let applied = 0;
    await expect(
      streamCoco(
        () => openFrom(key),
        "object_detection",
        async () => {
          applied++;
        },
        { maxImages: listed - 1 },
      ),
    ).rejects.toThrow(`more than ${listed - 1} images listed in one file`);
    expect(applied).toBe(0);
    // At the bound itself it imports.
    await streamCoco(
      () => openFrom(key),
      "object_detection",
      async () => {
        applied++;
      },
      { maxImages: listed },
    );
    expect(applied).toBeGreaterThan(0);
  });
});

const CATEGORIES = ["car", "person", "dog", "cat", "bus"];

/** A 1024 × 768 GIF header (all the probe reads), distinct per n. */
function gif(n: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x00, 0x04, 0x00, 0x03]);
  b.set([n & 0xff, (n >> 8) & 0xff, 1], 20);
  return b;
}

/**
 * A COCO file past the old 32 MiB cap, in the usual key order (categories last), with `n` distinct boxes dealt
 * round-robin over the images (so each image spans every batch), a padded `info`, a repeated box of another
 * class, an unknown category and an unknown image. Returns the text and the objects it must produce.
 */
function bigCoco(names: string[], n: number, bytes: number) {
  const objects = new Map<string, Set<string>>();
  const anns: string[] = [];
  const add = (id: number, img: number, cat: number, [x, y, w, h]: number[]) => {
    anns.push(JSON.stringify({ id, image_id: img + 1, category_id: cat, bbox: [x, y, w, h], area: w * h, iscrowd: 0 }));
    if (img >= names.length) return;
    const cls = cat <= CATEGORIES.length ? CATEGORIES[cat - 1] : "none";
    const k = `${names[img]}|${x},${y},${x + w},${y + h}`;
    objects.set(k, (objects.get(k) ?? new Set()).add(cls.charAt(0).toUpperCase() + cls.slice(1)));
  };
  for (let i = 0; i < n; i++) {
    const k = Math.floor(i / names.length);
    // Distinct per image for k < 450,000, and inside a 1024 × 608 image.
    const box = [k % 900, Math.floor(k / 900) % 500, 10 + (k % 50), 10 + (k % 30)];
    add(i + 1, i % names.length, i % 97 === 0 ? 99 : 1 + (i % CATEGORIES.length), box);
  }
  add(n + 1, 0, 5, [0, 0, 10, 10]); // the first box of the first image again, as a bus
  add(n + 2, names.length + 99, 1, [1, 1, 5, 5]); // not in images[]
  const head = JSON.stringify({
    info: { description: "padding ", year: 2026 },
    licenses: [{ id: 1, name: "CC BY 4.0", url: "https://creativecommons.org/licenses/by/4.0/" }],
    images: names.map((file_name, i) => ({ id: i + 1, file_name, width: 1024, height: 608 })),
  });
  const tail = `,"annotations":[${anns.join(",")}],"categories":${JSON.stringify(
    CATEGORIES.map((name, i) => ({ id: i + 1, name, supercategory: "thing" })),
  )}}`;
  const pad = "x".repeat(Math.max(0, bytes - head.length - tail.length));
  const text = head.replace('"padding "', `"padding ${pad}"`).slice(0, -1) + tail;
  return { text, objects };
}

async function deliver(body: unknown) {
  const batch = createMessageBatch("remo-ingest", [
    { id: `m-${Math.random()}`, timestamp: new Date(), attempts: 2, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch as never, env as never);
  return getQueueResult(batch, ctx);
}

async function uploadLocal(dir: string, files: string[], fields: Record<string, unknown> = {}) {
  const u = await createUser();
  const ds = await createDataset(u);
  const r = await expectStatus(
    post(
      `/api/dataset/${ds.id}/upload/`,
      { local_files: files.map((f) => dir + f), annotation_task: "Object detection", complete: true, ...fields },
      u.key,
    ),
    200,
  );
  const s = await waitForSession(u.key, r.session_id, 100_000);
  return { u, ds, s, sid: r.session_id as string };
}

describe("COCO upload past the whole-file cap", () => {
  it("imports a COCO file over 32 MiB through the upload queue, and a redelivery of its message changes nothing", async () => {
    // 700 images, so the boxes per image stay near what COCO has (7 on average; 64 here), not thousands.
    const dir = `coco-big/${crypto.randomUUID()}/`;
    const names = Array.from({ length: 700 }, (_, i) => `g${i}.gif`);
    await env.BUCKET.put(dir + "images.zip", zip(Object.fromEntries(names.map((n, i) => [n, gif(i)]))));
    const n = 2 * COCO_ANNOTATIONS_PER_BATCH + 5_000;
    const { text, objects } = bigCoco(names, n, MAX_ANNOTATION_FILE + 1024 * 1024);
    expect(text.length).toBeGreaterThan(MAX_ANNOTATION_FILE);
    await env.BUCKET.put(dir + "instances.json", text);

    const { s, sid } = await uploadLocal(dir, ["images.zip", "instances.json"]);
    expect(s.status, JSON.stringify(s).slice(0, 2000)).toBe("done");
    expect(s.images.successful).toBe(names.length);
    expect(s.annotations.warnings).toEqual([
      {
        filename: "instances.json",
        warnings: [`1 image_id(s) referenced by annotations are not in images[]: ${names.length + 100}`],
      },
    ]);
    const setId = (
      await env.DB.prepare("SELECT annotation_set_id AS id FROM upload_sessions WHERE id = ?").bind(sid).first<any>()
    ).id;

    const state = await setState(setId);
    expect(state.objects.length).toBe(objects.size);
    expect(new Map(state.objects)).toEqual(new Map([...objects].map(([k, v]) => [k, [...v].sort()])));
    expect(state.set).toEqual({
      annotated_images: names.length,
      done_count: names.length,
      skipped_count: 0,
      total_objects: objects.size,
    });
    const perClass = new Map<string, { object_count: number; images: Set<string> }>();
    for (const [k, classes] of objects)
      for (const c of classes) {
        const e = perClass.get(c) ?? { object_count: 0, images: new Set<string>() };
        e.object_count++;
        e.images.add(k.split("|")[0]);
        perClass.set(c, e);
      }
    expect(state.classes).toEqual(
      [...perClass]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, e]) => ({ name, object_count: e.object_count, image_count: e.images.size })),
    );

    // The queue delivers the file's message again (as after a crash before it was marked done).
    const item = await env.DB.prepare("SELECT id FROM upload_items WHERE session_id = ? AND name = ?")
      .bind(sid, dir + "instances.json")
      .first<{ id: number }>();
    await env.DB.batch([
      env.DB.prepare("UPDATE upload_items SET status = 'deferred' WHERE id = ?").bind(item!.id),
      env.DB.prepare("UPDATE upload_sessions SET status = 'in progress', substatus = ? WHERE id = ?").bind(
        ANNOTATIONS_PHASE,
        sid,
      ),
    ]);
    const r = await deliver({ type: "ingest-annotations", sessionId: sid, itemId: item!.id });
    expect(r.explicitAcks).toHaveLength(1);
    // It ran to the end again (the file is counted a second time), and wrote nothing new.
    const after = await env.DB.prepare(
      "SELECT i.status, s.annotations_successful AS ok FROM upload_items i JOIN upload_sessions s ON s.id = i.session_id WHERE i.id = ?",
    )
      .bind(item!.id)
      .first();
    expect(after).toEqual({ status: "done", ok: 2 });
    expect(await setState(setId)).toEqual(state);
  }, 120_000);

  it("keeps the 32 MiB cap for other formats; big JSON that is not COCO, or with an element over 8 MiB, fails by name", async () => {
    const dir = `coco-big/${crypto.randomUUID()}/`;
    const image = FIXTURE_IMAGES[2];
    await env.BUCKET.put(dir + image, await fixture(`images/${image}`));
    const big = MAX_ANNOTATION_FILE + 1024;
    await env.BUCKET.put(dir + "boxes.csv", `file_name,class,xmin,ymin,xmax,ymax\n${image},car,1,2,3,4\n`.padEnd(big));
    await env.BUCKET.put(dir + "other.json", JSON.stringify({ info: "y".repeat(big), hello: [1, 2] }));
    const huge = {
      images: [{ id: 1, file_name: image }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 2, 3, 4], note: "z".repeat(9 * 1024 * 1024) }],
      categories: [{ id: 1, name: "car" }],
    };
    await env.BUCKET.put(dir + "huge.json", JSON.stringify(huge));

    const { s } = await uploadLocal(dir, [image, "boxes.csv", "other.json", "huge.json"]);
    expect(s.status).toBe("failed");
    expect([...s.annotations.errors].sort((a: any, b: any) => (a.filename < b.filename ? -1 : 1))).toEqual([
      { filename: "boxes.csv", errors: [`annotation file larger than ${MAX_ANNOTATION_FILE} bytes`] },
      {
        filename: "huge.json",
        errors: [`huge.json: element 0 of 'annotations' is larger than ${8 * 1024 * 1024} bytes`],
      },
      {
        filename: "other.json",
        errors: [
          "Annotation format for Object detection not recognised for file 'other.json'. Please check the documentation to see supported formats.",
        ],
      },
    ]);
    expect(MAX_COCO_FILE).toBe(1024 * 1024 * 1024);
  }, 120_000);
});
