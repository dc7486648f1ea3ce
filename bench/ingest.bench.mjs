#!/usr/bin/env node
// Ingestion (issue 3): (1) a COCO file of 100,000 boxes over 10,000 images already in the dataset (seeded into
// the D1 file), uploaded multipart and imported by the ingest queue; (2) zips of 250, 1,000 and 2,000 distinct JPEGs sent
// as direct uploads (streamed PUT through the Worker) and ingested, with workerd's peak memory after each.
// `npm run bench -- ingest` (BENCH_COCO_IMAGES / BENCH_COCO_BOXES / BENCH_ZIP_SIZES override the sizes).
// BENCH_COCO_STREAM_BOXES=860000 adds (3): a COCO file shaped like train2017 instances (a polygon per annotation,
// ~450 MB at that count), sent as a direct upload, imported by the streamed path (past the 32 MiB whole-file cap);
// BENCH_COCO_STREAM_STORES=d1,object runs it into a dataset in D1, then into one switched over to its DatasetStore
// (switched before anything else runs). BENCH_COCO_BOXES=0 leaves (1) out, BENCH_ZIP_SIZES= leaves (2) out; (3)'s
// time is `complete` → the session's finished_at. BENCH_SERVER_LOG=<file> keeps wrangler's output.
import { readFileSync } from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import Database from "better-sqlite3";
import { seedLargeSet } from "./lib/seed.mjs";
import { d1File, machine, startServer } from "./lib/server.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const COCO_IMAGES = Number(process.env.BENCH_COCO_IMAGES ?? 10_000);
const COCO_BOXES = Number(process.env.BENCH_COCO_BOXES ?? 100_000);
const ZIP_SIZES = (process.env.BENCH_ZIP_SIZES ?? "250,1000,2000").split(",").filter(Boolean).map(Number);
const STREAM_BOXES = Number(process.env.BENCH_COCO_STREAM_BOXES ?? 0);
// Where (3) imports, in this order, one seeded dataset each: "d1" (served from D1), "object" (the same seed switched
// over to its DatasetStore first, issue 13; needs routing on, so the whole run has it on).
const STREAM_STORES = (process.env.BENCH_COCO_STREAM_STORES ?? "d1").split(",").filter(Boolean);

let seeded;
let inObject = null;
const server = await startServer({
  port: 8791,
  vars: STREAM_STORES.includes("object") ? { DATASET_STORE_ROUTING: "on" } : {},
  beforeStart: (d1File) => {
    seeded = seedLargeSet(d1File, {
      images: COCO_IMAGES,
      objectsPerImage: 0,
      classes: 0,
      tags: 0,
      datasetName: "COCO target",
    });
    if (STREAM_BOXES && STREAM_STORES.includes("object")) {
      inObject = seedLargeSet(d1File, { images: COCO_IMAGES, objectsPerImage: 0, classes: 0, tags: 0, datasetName: "COCO target (object)" });
      const db = new Database(d1File);
      db.prepare("UPDATE users SET is_superuser = 1 WHERE id = ?").run(inObject.userId);
      db.close();
    }
  },
});

async function req(p, init = {}, key = seeded.key) {
  const r = await fetch(server.base + p, { ...init, headers: { authorization: `Token ${key}`, ...(init.headers ?? {}) } });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? "GET"} ${p}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}
const json = (body) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

let lostPolls = 0;
async function waitDone(sid, timeoutMs = 300_000, key = seeded.key) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A poll that gets no answer in 30 s is counted and sent again, as a client would: under wrangler dev a status
    // request sometimes never got its headers (undici waited 300 s), while the next one was answered.
    const s = await req(`/api/v1/ui/uploads/${sid}/status/`, { signal: AbortSignal.timeout(30_000) }, key).catch((e) => {
      if (e?.name !== "TimeoutError" && e?.cause?.name !== "TimeoutError") throw e;
      lostPolls++;
      return null;
    });
    if (s === null) {
      if (Date.now() > deadline) throw new Error(`session ${sid}: no status answer after ${timeoutMs / 1000} s (${lostPolls} polls lost)`);
      continue;
    }
    if (s.status === "done" || s.status === "failed") return s;
    if (Date.now() > deadline) {
      console.error(
        server
          .log()
          .split("\n")
          .filter((l) => /error|fail|exceed|limit/i.test(l))
          .slice(-20)
          .join("\n"),
      );
      throw new Error(
        `session ${sid} still ${s.status} (${s.substatus}) after ${timeoutMs / 1000} s: ${s.images.successful} images`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Seconds from `sentAt` (ms, this machine's clock, which the local server shares) to the session's `finished_at`,
 * read from the local D1 file: what the import took, without the client's polling. A status poll sent while a
 * long consumer runs can go unanswered under wrangler dev until its 30 s timeout (BENCHMARKS.md), which the
 * client-side figure then includes.
 */
function serverSeconds(sid, sentAt) {
  const db = new Database(d1File(server.persistDir), { readonly: true });
  try {
    const row = db.prepare("SELECT finished_at FROM upload_sessions WHERE id = ?").get(sid);
    return row?.finished_at ? (Date.parse(row.finished_at) - sentAt) / 1000 : NaN;
  } finally {
    db.close();
  }
}

function cocoFile() {
  const categories = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `class ${i}` }));
  const images = Array.from({ length: COCO_IMAGES }, (_, i) => ({
    id: i + 1,
    file_name: `img_${String(i).padStart(7, "0")}.jpg`,
    width: 640,
    height: 480,
  }));
  const annotations = Array.from({ length: COCO_BOXES }, (_, k) => {
    const img = k % COCO_IMAGES;
    const j = Math.floor(k / COCO_IMAGES);
    return {
      id: k + 1,
      image_id: img + 1,
      category_id: (k % 20) + 1,
      bbox: [(j * 37) % 600, (j * 23) % 440, 30 + j, 20 + j],
      area: 600,
      segmentation: [],
      iscrowd: 0,
    };
  });
  return JSON.stringify({ images, categories, annotations });
}

/**
 * A big COCO file as Buffers (one string would pass V8's 512 MB limit): train2017's shape, ~500 bytes per
 * annotation (bbox, area, a 28-point polygon with two decimals), images first, categories last.
 */
function bigCocoParts(boxes, nImages) {
  const enc = (s) => Buffer.from(s);
  const images = Array.from({ length: nImages }, (_, i) => ({
    license: 1,
    file_name: `img_${String(i).padStart(7, "0")}.jpg`,
    coco_url: `http://images.cocodataset.org/train2017/img_${String(i).padStart(7, "0")}.jpg`,
    height: 480,
    width: 640,
    date_captured: "2013-11-14 11:18:45",
    id: i + 1,
  }));
  const parts = [
    enc(
      `{"info":{"description":"bench","year":2026},"licenses":[{"id":1,"name":"CC BY"}],"images":${JSON.stringify(images)},"annotations":[`,
    ),
  ];
  let page = [];
  for (let k = 0; k < boxes; k++) {
    const img = k % nImages;
    const j = Math.floor(k / nImages);
    const [x, y, w, h] = [(j * 37) % 600, (j * 23) % 440, 30 + (j % 40), 20 + (j % 40)];
    const poly = [];
    for (let p = 0; p < 28; p++) {
      const a = (p / 28) * 2 * Math.PI;
      poly.push(+(x + w / 2 + (w / 2) * Math.cos(a)).toFixed(2), +(y + h / 2 + (h / 2) * Math.sin(a)).toFixed(2));
    }
    page.push(
      JSON.stringify({
        segmentation: [poly],
        area: w * h * 0.78,
        iscrowd: 0,
        image_id: img + 1,
        bbox: [x, y, w, h],
        category_id: (k % 20) + 1,
        id: k + 1,
      }),
    );
    if (page.length === 10_000 || k === boxes - 1) {
      parts.push(enc((k >= 10_000 ? "," : "") + page.join(",")));
      page = [];
    }
  }
  const categories = Array.from({ length: 20 }, (_, i) => ({ supercategory: "thing", id: i + 1, name: `class ${i}` }));
  parts.push(enc(`],"categories":${JSON.stringify(categories)}}`));
  return parts;
}

/** n distinct JPEGs: a fixture with a COM segment carrying the index right after SOI. */
function jpegZip(n) {
  const base = new Uint8Array(
    readFileSync(path.join(ROOT, "test/fixtures/remo-object-detection/images/001a809ad40a2f84.jpg")),
  );
  const files = {};
  for (let i = 0; i < n; i++) {
    const note = new TextEncoder().encode(`bench image ${i}`);
    const out = new Uint8Array(base.length + 4 + note.length);
    out.set(base.subarray(0, 2));
    out.set([0xff, 0xfe, (note.length + 2) >> 8, (note.length + 2) & 0xff], 2);
    out.set(note, 6);
    out.set(base.subarray(2), 6 + note.length);
    files[`photos/p${String(i).padStart(5, "0")}.jpg`] = [out, { level: 0 }];
  }
  return zipSync(files);
}

try {
  console.log(`machine: ${machine()}`);
  // Each row is printed as soon as it is measured too: a later part that stalls (BENCHMARKS.md) keeps the earlier.
  const rows = [];
  rows.push = (...r) => {
    for (const x of r) console.log(x);
    return Array.prototype.push.apply(rows, r);
  };

  // Built first: generating ~450 MB takes long enough for the server to drop an idle keep-alive connection.
  const bigParts = STREAM_BOXES ? bigCocoParts(STREAM_BOXES, COCO_IMAGES) : null;

  // The dataset (3) imports into through its object is switched over first, on a fresh queue: a long import
  // before it has left wrangler dev's queue consuming nothing more (BENCHMARKS.md, "A local queue stall").
  if (bigParts && inObject) {
    // The operator's switch-over (README, "Per-dataset Durable Objects"): frozen, 30 s grace, copy, 'object'.
    const r = (p, init = {}) => req(p, init, inObject.key);
    const ts = performance.now();
    await r(`/api/v1/admin/dataset-stores/${inObject.datasetId}/switch`, { method: "POST" });
    for (;;) {
      const st = await r(`/api/v1/admin/dataset-stores/${inObject.datasetId}`);
      if (st.store === "object") break;
      if (st.state === "mismatch" || st.state === "failed") throw new Error(`switch-over: ${JSON.stringify(st)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    console.log(`switched dataset ${inObject.datasetId} to its object in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
  }

  // (1) COCO import into the seeded dataset's set (BENCH_COCO_BOXES=0 leaves it out).
  let t;
  if (COCO_BOXES) {
    const coco = cocoFile();
    const sid = (await req("/api/v1/ui/uploads/", json({ dataset_id: seeded.datasetId }))).session_id;
    const form = new FormData();
    form.append("session_id", sid);
    form.append("files", new Blob([coco]), "instances.json");
    await req(`/api/dataset/${seeded.datasetId}/upload/?annotation_set_id=${seeded.setId}`, {
      method: "POST",
      body: form,
    });
    t = performance.now();
    await req(`/api/v1/ui/uploads/${sid}/complete/`, { method: "POST" });
    const cs = await waitDone(sid);
    const cocoSeconds = (performance.now() - t) / 1000;
    const stats = (await req(`/api/v1/ui/datasets/${seeded.datasetId}/annotation-sets/`)).results.find(
      (s) => s.id === seeded.setId,
    ).statistics;
    if (cs.status !== "done" || stats.total_annotation_objects !== COCO_BOXES)
      throw new Error(`COCO import: ${cs.status} ${JSON.stringify(cs.annotations)} ${JSON.stringify(stats)}`);
    rows.push(
      `| COCO ${(coco.length / 1e6).toFixed(1)} MB: ${COCO_BOXES.toLocaleString("en")} boxes over ${COCO_IMAGES.toLocaleString("en")} images already in the dataset | ${cocoSeconds.toFixed(1)} s (complete → done) | ${server.workerdPeakMiB().toFixed(0)} MiB |`,
    );
  }

  // (2) zips of distinct JPEGs through a direct upload (Worker PUT, streamed into R2 multipart).
  for (const n of ZIP_SIZES) {
    const ds = await req("/api/dataset/", json({ name: `zip ${n} ${Date.now()}` }));
    const archive = jpegZip(n);
    const zsid = (await req("/api/v1/ui/uploads/", json({ dataset_id: ds.id }))).session_id;
    const sha = createHash("sha256").update(archive).digest("hex");
    const plan = await req(
      `/api/v1/uploads/${zsid}/direct/`,
      json({ files: [{ name: "photos.zip", size: archive.length, sha256: sha }] }),
    );
    let tp = performance.now();
    await req(plan.files[0].url, { method: "PUT", body: archive });
    const putSeconds = (performance.now() - tp) / 1000;
    const peakAfterPut = server.workerdPeakMiB();
    t = performance.now();
    await req(`/api/v1/ui/uploads/${zsid}/complete/`, { method: "POST" });
    const zs = await waitDone(zsid);
    const secs = (performance.now() - t) / 1000;
    if (zs.status !== "done" || zs.images.successful !== n)
      throw new Error(`zip ${n}: ${zs.status} ${JSON.stringify(zs.errors).slice(0, 500)} ${zs.images.successful}`);
    rows.push(
      `| zip of ${n.toLocaleString("en")} JPEGs (${(archive.length / 1048576).toFixed(0)} MiB; PUT ${putSeconds.toFixed(1)} s) | ${secs.toFixed(1)} s (${(n / secs).toFixed(0)} images/s) | ${peakAfterPut.toFixed(0)} → ${server.workerdPeakMiB().toFixed(0)} MiB |`,
    );
  }
  // (3) A big COCO file through the streamed path, into a fresh set of a seeded dataset (its images), once per store.
  if (bigParts) {
    const parts = bigParts;
    const size = parts.reduce((n, p) => n + p.length, 0);
    const hash = createHash("sha256");
    for (const p of parts) hash.update(p);
    const sha256 = hash.digest("hex");
    for (const store of STREAM_STORES) {
      const target = store === "object" ? inObject : seeded;
      const r = (p, init = {}) => req(p, init, target.key);
      const set = await r(
        "/api/v1/ui/annotation-sets/",
        json({ dataset_id: target.datasetId, name: `streamed ${Date.now()}`, annotation_task: "Object detection" }),
      );
      const bsid = (await r("/api/v1/ui/uploads/", json({ dataset_id: target.datasetId }))).session_id;
      await r(`/api/dataset/${target.datasetId}/upload/`, json({ session_id: bsid, annotation_set_id: set.id }));
      const plan = await r(
        `/api/v1/uploads/${bsid}/direct/`,
        json({ files: [{ name: "instances_train.json", size, sha256 }] }),
      );
      let tp = performance.now();
      await r(plan.files[0].url, { method: "PUT", body: new Blob(parts) });
      const putSeconds = (performance.now() - tp) / 1000;
      const peakAfterPut = server.workerdPeakMiB();
      t = performance.now();
      const sentAt = Date.now();
      // wrangler dev's proxy has answered this POST "503 Your worker restarted mid-request. Please try sending the
      // request again" right after the 409 MB PUT (2 of 4 runs); `complete` is idempotent, so do as it says, once.
      await r(`/api/v1/ui/uploads/${bsid}/complete/`, { method: "POST" }).catch(async (e) => {
        if (!/restarted mid-request/.test(String(e))) throw e;
        console.log("complete: wrangler dev restarted the worker mid-request; sent again");
        await r(`/api/v1/ui/uploads/${bsid}/complete/`, { method: "POST" });
      });
      const bs = await waitDone(bsid, 1_800_000, target.key);
      const secs = (performance.now() - t) / 1000;
      const doneSecs = serverSeconds(bsid, sentAt);
      const bstats = (await r(`/api/v1/ui/datasets/${target.datasetId}/annotation-sets/`)).results.find(
        (x) => x.id === set.id,
      ).statistics;
      if (bstats.total_annotation_objects !== STREAM_BOXES)
        throw new Error(`streamed COCO (${store}): ${bs.status} ${JSON.stringify(bs.annotations)} ${JSON.stringify(bstats)}`);
      rows.push(
        `| COCO ${(size / 1e6).toFixed(0)} MB (streamed, dataset in ${store === "object" ? "its DatasetStore" : "D1"}): ${STREAM_BOXES.toLocaleString("en")} annotations with polygons over ${COCO_IMAGES.toLocaleString("en")} images (direct upload; PUT ${putSeconds.toFixed(1)} s) | ${doneSecs.toFixed(1)} s (complete → the session's finished_at; ${secs.toFixed(1)} s as the client polled) | ${peakAfterPut.toFixed(0)} → ${server.workerdPeakMiB().toFixed(0)} MiB |`,
      );
    }
  }

  console.log(`status polls lost (no answer in 30 s, sent again): ${lostPolls}`);
  console.log("| input | time | workerd peak RSS (after the PUT → after ingest) |");
  console.log("| --- | ---: | ---: |");
  for (const r of rows) console.log(r);
} catch (e) {
  // What the server said last, for a failure the response alone does not explain (a restarted worker).
  console.error(server.log().split("\n").slice(-60).join("\n"));
  throw e;
} finally {
  await server.stop();
}
