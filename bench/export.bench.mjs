#!/usr/bin/env node
// Export at scale: a set of 1,000 images x 10 boxes (10,000) and 100,000 images x 10 boxes (1,000,000), exported
// as COCO and CSV through the streaming GET and through the export job (queue consumer -> R2 multipart). Each
// export runs on a freshly started `wrangler dev` over the same seeded state, so each workerd peak (VmHWM) is that
// export's alone. Prints a markdown table for BENCHMARKS.md.
import { startServer, machine } from "./lib/server.mjs";
import { seedLargeSet } from "./lib/seed.mjs";
import path from "node:path";

const PORT = Number(process.env.PORT ?? 8793);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const SIZES = (process.env.EXPORT_BENCH_SIZES ?? "1000,100000").split(",").map(Number);
const PER_IMAGE = 10;

async function drain(res) {
  // Count bytes as they arrive; nothing is kept, so the client never holds the export.
  let bytes = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.length;
  }
}

async function viaGet(base, key, setId, format) {
  const t = performance.now();
  const res = await fetch(`${base}/api/v1/ui/annotation-sets/${setId}/export/?annotation_format=${format}`, { headers: { authorization: `Token ${key}` } });
  if (!res.ok) throw new Error(`GET ${format}: ${res.status} ${await res.text()}`);
  const bytes = await drain(res);
  return { ms: performance.now() - t, bytes };
}

async function viaJob(base, key, setId, format) {
  const t = performance.now();
  const headers = { authorization: `Token ${key}`, "content-type": "application/json" };
  const r = await fetch(`${base}/api/v1/ui/annotation-sets/${setId}/exports/`, { method: "POST", headers, body: JSON.stringify({ annotation_format: format }) });
  if (r.status !== 202) throw new Error(`POST exports: ${r.status} ${await r.text()}`);
  const { job } = await r.json();
  for (;;) {
    await new Promise((res) => setTimeout(res, 250));
    const j = await (await fetch(`${base}/api/v1/jobs/${job.id}`, { headers })).json();
    if (j.status === "failed") throw new Error(`job failed: ${j.error}`);
    if (j.status === "done") {
      const ms = performance.now() - t;
      // Download once to check the file is whole (not timed).
      const bytes = await drain(await fetch(base + j.download_url));
      if (bytes !== j.size) throw new Error(`downloaded ${bytes} of ${j.size} bytes`);
      return { ms, bytes };
    }
  }
}

const rows = [];
for (const images of SIZES) {
  const persistDir = path.join(ROOT, `bench/.out/export-${images}`);
  let seeded;
  const t0 = performance.now();
  const first = await startServer({ port: PORT, persistDir, beforeStart: (file) => void (seeded = seedLargeSet(file, { images, objectsPerImage: PER_IMAGE })) });
  const seedS = (performance.now() - t0) / 1000;
  await first.stop();
  console.error(`seeded ${images} images / ${seeded.objects} boxes in ${seedS.toFixed(1)} s (with server start)`);
  for (const format of ["coco", "csv"]) {
    for (const [how, run] of [["GET", viaGet], ["job", viaJob]]) {
      const server = await startServer({ port: PORT, persistDir, fresh: false });
      try {
        const idle = server.workerdRssMiB();
        const r = await run(server.base, seeded.key, seeded.setId, format);
        const peak = server.workerdPeakMiB();
        rows.push({ images, boxes: seeded.objects, format, how, s: r.ms / 1000, mib: r.bytes / 2 ** 20, idle, peak });
        console.error(JSON.stringify(rows[rows.length - 1]));
      } finally {
        await server.stop();
      }
    }
  }
}

console.log(`\nMachine: ${machine()}\n`);
console.log("| images | boxes | format | path | wall time | output | workerd idle RSS | workerd peak (VmHWM) |");
console.log("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(`| ${r.images.toLocaleString("en")} | ${r.boxes.toLocaleString("en")} | ${r.format} | ${r.how} | ${r.s.toFixed(1)} s | ${r.mib.toFixed(1)} MiB | ${r.idle.toFixed(0)} MiB | ${r.peak.toFixed(0)} MiB |`);
}
for (const format of ["coco", "csv"]) {
  for (const how of ["GET", "job"]) {
    const [small, big] = [SIZES[0], SIZES[SIZES.length - 1]].map((n) => rows.find((r) => r.images === n && r.format === format && r.how === how));
    if (small && big && small !== big) console.log(`- ${format} via ${how}: peak ratio ${(big.peak / small.peak).toFixed(2)}x, ${big.boxes.toLocaleString("en")} boxes in ${big.s.toFixed(1)} s`);
  }
}
