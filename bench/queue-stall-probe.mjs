#!/usr/bin/env node
// Probe for the local queue stall (BENCHMARKS.md, "Per-dataset Durable Objects"; not a benchmark, not in `npm run
// bench`): under `wrangler dev`, imports a COCO file of PROBE_BOXES boxes (default 100,000; 500,000 stalls) into
// a seeded dataset of 10,000 images, polling its status as a client does (counting polls that get no answer in
// 20 s), then queues a one-time copy of the dataset and waits 60 s for the queue to run it. Prints the tail of the
// wrangler dev log. `node bench/queue-stall-probe.mjs` (PROBE_BOXES=500000 for the stall); port 8792.
import Database from "better-sqlite3";
import { seedLargeSet } from "./lib/seed.mjs";
import { startServer } from "./lib/server.mjs";

const BOXES = Number(process.env.PROBE_BOXES ?? 100_000);
const IMAGES = 10_000;
let seeded;
const server = await startServer({
  port: 8792,
  vars: { DATASET_STORE_ROUTING: "on" },
  beforeStart: (f) => {
    seeded = seedLargeSet(f, { images: IMAGES, objectsPerImage: 0, classes: 0, tags: 0, datasetName: "probe" });
    const db = new Database(f);
    db.prepare("UPDATE users SET is_superuser = 1 WHERE id = ?").run(seeded.userId);
    db.close();
  },
});
const req = async (p, init = {}) => {
  const r = await fetch(server.base + p, { ...init, signal: AbortSignal.timeout(20_000), headers: { authorization: `Token ${seeded.key}`, ...(init.headers ?? {}) } });
  const t = await r.text();
  if (!r.ok) throw new Error(`${p}: ${r.status} ${t.slice(0, 200)}`);
  return t ? JSON.parse(t) : null;
};
const json = (b) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
try {
  const categories = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `class ${i}` }));
  const images = Array.from({ length: IMAGES }, (_, i) => ({ id: i + 1, file_name: `img_${String(i).padStart(7, "0")}.jpg`, width: 640, height: 480 }));
  const annotations = Array.from({ length: BOXES }, (_, k) => ({ id: k + 1, image_id: (k % IMAGES) + 1, category_id: (k % 20) + 1, bbox: [1, 2, 30, 20], area: 600, segmentation: [], iscrowd: 0 }));
  const coco = JSON.stringify({ images, categories, annotations });
  const sid = (await req("/api/v1/ui/uploads/", json({ dataset_id: seeded.datasetId }))).session_id;
  const form = new FormData();
  form.append("session_id", sid);
  form.append("files", new Blob([coco]), "instances.json");
  await req(`/api/dataset/${seeded.datasetId}/upload/?annotation_set_id=${seeded.setId}`, { method: "POST", body: form });
  const t0 = Date.now();
  await req(`/api/v1/ui/uploads/${sid}/complete/`, { method: "POST" });
  let lost = 0;
  for (;;) {
    const s = await req(`/api/v1/ui/uploads/${sid}/status/`).catch((e) => (lost++, console.log("poll lost", new Date().toISOString(), String(e)), null));
    if (s && (s.status === "done" || s.status === "failed")) { console.log("import", s.status, (Date.now() - t0) / 1000, "s; lost polls", lost); break; }
    if (Date.now() - t0 > 240_000) throw new Error("import did not finish");
    await new Promise((r) => setTimeout(r, 250));
  }
  // Does the queue still consume? A copy message for the dataset.
  await req("/api/v1/admin/dataset-stores/copy", json({ dataset_id: seeded.datasetId }));
  const t1 = Date.now();
  for (;;) {
    const st = await req(`/api/v1/admin/dataset-stores/${seeded.datasetId}`);
    if (st.state === "verified" || st.state === "mismatch") { console.log("copy", st.state, (Date.now() - t1) / 1000, "s"); break; }
    if (Date.now() - t1 > 60_000) { console.log("QUEUE STUCK: copy not run after 60 s", JSON.stringify(st).slice(0, 200)); break; }
    await new Promise((r) => setTimeout(r, 500));
  }
} catch (e) {
  console.log("ERROR", e);
} finally {
  console.log("----- server log -----\n" + server.log().split("\n").filter((l) => !/GET \/api\/v1\/ui\/uploads\/.*status|GET \/api\/v1\/admin/.test(l)).slice(-80).join("\n"));
  await server.stop();
}
