#!/usr/bin/env node
// Annotations, search and statistics on a large set: 100,000 images and 1,000,000 objects seeded straight into
// the local D1 file, then median/p99 latency of the reads the UI and SDK make most, and of a save-annotation.
// `npm run bench -- annotations` (BENCH_IMAGES / BENCH_OBJECTS_PER_IMAGE / BENCH_N override the sizes).
import { seedLargeSet } from "./lib/seed.mjs";
import { machine, startServer, timeIt } from "./lib/server.mjs";

const IMAGES = Number(process.env.BENCH_IMAGES ?? 100_000);
const PER_IMAGE = Number(process.env.BENCH_OBJECTS_PER_IMAGE ?? 10);
const N = Number(process.env.BENCH_N ?? 200);

let seeded;
const t0 = performance.now();
const server = await startServer({
  port: 8792,
  beforeStart: (d1File) => {
    seeded = seedLargeSet(d1File, { images: IMAGES, objectsPerImage: PER_IMAGE, classes: 20, tags: 5 });
  },
});
const seedSeconds = (performance.now() - t0) / 1000;
const { key, datasetId, setId, firstImageId, lastImageId, classNames, tagNames } = seeded;
const headers = { authorization: `Token ${key}`, "content-type": "application/json" };
const rnd = (n) => Math.floor(Math.random() * n);
const randomImage = () => firstImageId + rnd(lastImageId - firstImageId + 1);

async function req(path, init = {}) {
  const r = await fetch(server.base + path, { headers, ...init });
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const cases = {
  // The floor every authenticated request pays on this stack (key lookup, routing), for scale.
  "baseline: GET /api/user-info/": () => req("/api/user-info/"),
  "set list with statistics": () => req(`/api/v1/ui/datasets/${datasetId}/annotation-sets/`),
  "contents page (32 images, annotations per set)": () => req(`/api/v1/ui/datasets/${datasetId}/contents/?limit=32&offset=${rnd(IMAGES - 32)}`),
  // The contents page taken apart (issue 13's "contents: measure the COUNT and the signing separately"): at offset
  // 0 it walks no OFFSET, and with one image it signs 4 URLs and serialises ~10 boxes instead of 32 images' worth;
  // what is left over the floor is the access check, the two COUNT(*)s and the batch itself.
  "contents page at offset 0 (32 images, no OFFSET walk)": () => req(`/api/v1/ui/datasets/${datasetId}/contents/?limit=32&offset=0`),
  "contents page at offset 0, 1 image (the COUNTs, one image signed)": () => req(`/api/v1/ui/datasets/${datasetId}/contents/?limit=1&offset=0`),
  "search page by class (25, SDK page size)": () =>
    req(`/api/v1/ui/datasets/${datasetId}/contents/?sets=${setId}&classes=${encodeURIComponent(classNames[rnd(classNames.length)])}&limit=25&image_id=${randomImage()}&direction=next`),
  "search page by tag (25)": () =>
    req(`/api/v1/ui/datasets/${datasetId}/contents/?sets=${setId}&tags=${tagNames[rnd(tagNames.length)]}&limit=25&image_id=${randomImage()}&direction=next`),
  "save-annotation (10 objects, replaces)": () => {
    const img = randomImage();
    const objects = Array.from({ length: 10 }, (_, k) => ({
      name: `OBJ ${k + 1}`,
      coordinates: [{ x: k * 3, y: k * 2 }, { x: k * 3 + 40, y: k * 2 + 40 }],
      classes: [{ name: classNames[(img + k) % classNames.length], lower: "", questionable: false }],
    }));
    return req(`/api/dataset/${datasetId}/annotation-set/${setId}/image/${img}/save-annotation/`, { method: "POST", body: JSON.stringify({ objects, status: "done" }) });
  },
};

try {
  // sanity: the first page of each kind answers, and statistics are the seeded ones
  const list = await req(`/api/v1/ui/datasets/${datasetId}/annotation-sets/`);
  const stats = list.results[0].statistics;
  if (stats.total_annotation_objects !== IMAGES * PER_IMAGE) throw new Error("unexpected statistics " + JSON.stringify(stats));
  const results = {};
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < 10; i++) await fn(); // warm-up
    results[name] = await timeIt(N, fn);
  }
  const after = (await req(`/api/v1/ui/datasets/${datasetId}/annotation-sets/`)).results[0].statistics;
  console.log(`machine: ${machine()}`);
  console.log(`seeded ${IMAGES} images, ${IMAGES * PER_IMAGE} objects (+ server start) in ${seedSeconds.toFixed(1)} s; n=${N} per case`);
  console.log("| case | median ms | p99 ms |");
  console.log("| --- | ---: | ---: |");
  for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.median.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  console.log(`statistics after the saves: ${after.total_annotation_objects} objects, ${after.annotated_images_count} annotated images`);
  console.log(`workerd peak RSS: ${server.workerdPeakMiB().toFixed(0)} MiB`);
} finally {
  await server.stop();
}
