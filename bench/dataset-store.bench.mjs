#!/usr/bin/env node
// Issue 13, before and after in one run on one seed: the same API requests answered from D1 (today's routing), from
// the dataset's SQLite Durable Object alone (the same app run inside the object on its SQLite only, one RPC per
// request; see bench/dataset-store/worker.ts), and routed as production routes a switched dataset (the Worker finds
// the dataset in D1, forwards in one RPC, the object splits statements between its SQLite and D1), as ratios to the
// floor (GET /api/user-info/). Also: the production copy from D1
// into the objects (rows/s), storage bytes per box and per image in each, and 8 clients on 8 datasets at once.
// `npm run bench -- dataset-store`. BENCH_IMAGES / BENCH_OBJECTS_PER_IMAGE / BENCH_N / BENCH_CONC_IMAGES /
// BENCH_CONC_SECONDS override the sizes; BENCH_PRUNE=0 skips the prune of D1's copy at the end.
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { seedLargeSet } from "./lib/seed.mjs";
import { machine, percentile, startServer, timeIt } from "./lib/server.mjs";

const IMAGES = Number(process.env.BENCH_IMAGES ?? 100_000);
const PER_IMAGE = Number(process.env.BENCH_OBJECTS_PER_IMAGE ?? 10);
const N = Number(process.env.BENCH_N ?? 200);
const CONC = 8;
const CONC_IMAGES = Number(process.env.BENCH_CONC_IMAGES ?? 10_000);
const CONC_SECONDS = Number(process.env.BENCH_CONC_SECONDS ?? 15);
const COPY_BUDGET_MS = Number(process.env.BENCH_COPY_BUDGET_MS ?? 5_000);

let big;
const small = [];
let d1Bytes = 0;
const t0 = performance.now();
const server = await startServer({
  port: 8793,
  // Outside the project: wrangler dev restarted the Worker mid-copy when the state folder sat beside the script.
  persistDir: path.join(tmpdir(), "remo-bench-dataset-store"),
  script: "bench/dataset-store/worker.ts",
  vars: { DATASET_STORE_ROUTING: "on" },
  beforeStart: (file) => {
    big = seedLargeSet(file, { images: IMAGES, objectsPerImage: PER_IMAGE, classes: 20, tags: 5 });
    for (let i = 0; i < CONC; i++) small.push(seedLargeSet(file, { images: CONC_IMAGES, objectsPerImage: 10, classes: 20, tags: 5, datasetName: `conc ${i}` }));
    d1Bytes = statSync(file).size;
  },
});
const seedSeconds = (performance.now() - t0) / 1000;
const rnd = (n) => Math.floor(Math.random() * n);

let lastTrips = null; // x-d1-round-trips of the last answer (only /bench/trips/... sets it)
let restarts = 0;
async function req(key, path, init = {}) {
  let r;
  for (let attempt = 0; ; attempt++) {
    r = await fetch(server.base + path, { headers: { authorization: `Token ${key}`, "content-type": "application/json" }, ...init });
    // wrangler dev's proxy answers 503 "restarted mid-request" to a POST when the local runtime reloads under it
    // (seen a few times per run during the copy); every request here is idempotent, so send it again.
    if (r.status !== 503 || attempt === 3) break;
    restarts++;
    await r.text();
    await new Promise((res) => setTimeout(res, 2000));
  }
  lastTrips = r.headers.get("x-d1-round-trips");
  const text = await r.text();
  if (!r.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Times `fa` and `fb` n times each, alternating call by call; returns their stats as timeIt does. */
async function timeAlternating(n, fa, fb) {
  const ta = [];
  const tb = [];
  for (let i = 0; i < n; i++) {
    for (const [fn, t] of i % 2 ? [[fb, tb], [fa, ta]] : [[fa, ta], [fb, tb]]) {
      const s = performance.now();
      await fn(i);
      t.push(performance.now() - s);
    }
  }
  const stats = (t) => {
    t.sort((a, b) => a - b);
    return { n, median: percentile(t, 50), p99: percentile(t, 99), min: t[0], max: t[t.length - 1] };
  };
  return [stats(ta), stats(tb)];
}

/** Copies one dataset into its object with the production copy, pass after pass; returns seconds and rows. */
async function copy(ds) {
  const s = performance.now();
  let rows = 0;
  for (let p = { done: false }; !p.done; ) {
    p = await req(ds.key, `/bench/copy/${ds.datasetId}?budget_ms=${COPY_BUDGET_MS}`, { method: "POST" });
    rows += p.copied;
  }
  const counts = await req(ds.key, `/bench/counts/${ds.datasetId}`);
  if (!counts.equal) throw new Error("copy counts differ " + JSON.stringify(counts));
  await req(ds.key, `/bench/key/${ds.datasetId}`, { method: "POST" });
  return { seconds: (performance.now() - s) / 1000, rows, counts };
}

/** The API paths of the annotations bench, for one seeded dataset; `prefix` routes them to the object. */
function cases(ds, prefix) {
  const { datasetId, setId, firstImageId, lastImageId, classNames, tagNames } = ds;
  const n = lastImageId - firstImageId + 1;
  const img = () => firstImageId + rnd(n);
  return {
    "set list with statistics": () => req(ds.key, `${prefix}/api/v1/ui/datasets/${datasetId}/annotation-sets/`),
    "contents page (32 images)": () => req(ds.key, `${prefix}/api/v1/ui/datasets/${datasetId}/contents/?limit=32&offset=${rnd(n - 32)}`),
    "search page by class (25)": () =>
      req(ds.key, `${prefix}/api/v1/ui/datasets/${datasetId}/contents/?sets=${setId}&classes=${encodeURIComponent(classNames[rnd(classNames.length)])}&limit=25&image_id=${img()}&direction=next`),
    "search page by tag (25)": () =>
      req(ds.key, `${prefix}/api/v1/ui/datasets/${datasetId}/contents/?sets=${setId}&tags=${tagNames[rnd(tagNames.length)]}&limit=25&image_id=${img()}&direction=next`),
    "save-annotation (10 objects, replaces)": () => {
      const i = img();
      const objects = Array.from({ length: 10 }, (_, k) => ({
        name: `OBJ ${k + 1}`,
        coordinates: [{ x: k * 3, y: k * 2 }, { x: k * 3 + 40, y: k * 2 + 40 }],
        classes: [{ name: classNames[(i + k) % classNames.length], lower: "", questionable: false }],
      }));
      return req(ds.key, `${prefix}/api/dataset/${datasetId}/annotation-set/${setId}/image/${i}/save-annotation/`, { method: "POST", body: JSON.stringify({ objects, status: "done" }) });
    },
  };
}

/** Runs an export job of `ds`'s set through the public API and waits for it: seconds and file bytes. */
async function exportJob(ds, format) {
  const t = performance.now();
  const { job } = await req(ds.key, `/api/v1/ui/annotation-sets/${ds.setId}/exports/`, { method: "POST", body: JSON.stringify({ annotation_format: format }) });
  for (;;) {
    await new Promise((res) => setTimeout(res, 250));
    // A poll that wrangler dev's proxy drops would wait out undici's 300 s headers timeout: give up on it after 5 s.
    const j = await req(ds.key, `/api/v1/jobs/${job.id}`, { signal: AbortSignal.timeout(5000) }).catch(() => ({ status: "polling" }));
    if (j.status === "failed") throw new Error(`export job failed: ${j.error}`);
    // The job row's own times too: they leave out the polling interval and the request's round trip.
    if (j.status === "done") return { seconds: (performance.now() - t) / 1000, bytes: j.size, jobSeconds: (Date.parse(j.updated_at ?? j.finished_at) - Date.parse(j.created_at)) / 1000 };
  }
}

/** Signed URLs carry an expiry; everything else must be the same from D1 and from the object. */
const unsigned = (v) => JSON.stringify(v).replace(/\?[^"]*"/g, '"');

async function concurrent(prefixOf) {
  const stop = performance.now() + CONC_SECONDS * 1000;
  const times = [];
  await Promise.all(
    small.map(async (ds) => {
      const c = cases(ds, prefixOf(ds));
      const reads = [c["contents page (32 images)"], c["search page by class (25)"], c["search page by tag (25)"], c["set list with statistics"]];
      for (let i = 0; performance.now() < stop; i++) {
        const s = performance.now();
        await reads[i % reads.length]();
        times.push(performance.now() - s);
      }
    }),
  );
  times.sort((a, b) => a - b);
  return { rps: times.length / CONC_SECONDS, p50: percentile(times, 50), p99: percentile(times, 99), n: times.length };
}

try {
  const copyBig = await copy(big);
  const smallCopies = [];
  for (const ds of small) smallCopies.push(await copy(ds));

  // The same answers from both before timing anything.
  const path = `/api/v1/ui/datasets/${big.datasetId}/contents/?limit=32&offset=500`;
  const [fromD1, fromStore] = [await req(big.key, path), await req(big.key, `/bench/store/${big.datasetId}${path}`)];
  if (unsigned(fromD1) !== unsigned(fromStore)) throw new Error("the object's contents page differs from D1's");
  const spath = `/api/v1/ui/datasets/${big.datasetId}/contents/?sets=${big.setId}&classes=${encodeURIComponent(big.classNames[3])}&limit=25`;
  if (unsigned(await req(big.key, spath)) !== unsigned(await req(big.key, `/bench/store/${big.datasetId}${spath}`)))
    throw new Error("the object's search page differs from D1's");
  // The export job of the big set (1,000,000 boxes, CSV), run by the queue consumer against D1, then, once
  // switched, inside the object (the consumer forwards it there). Same rows, so the same file size.
  const exportD1 = await exportJob(big, "csv");
  // Switch every dataset over: from here the plain API paths go through the production routing into the objects,
  // and /bench/norouting/... is today's D1 path.
  for (const ds of [big, ...small]) await req(ds.key, `/bench/switch/${ds.datasetId}`, { method: "POST" });
  const exportObject = await exportJob(big, "csv");
  if (exportObject.bytes !== exportD1.bytes) throw new Error(`export sizes differ: D1 ${exportD1.bytes}, object ${exportObject.bytes}`);
  for (const p of [path, spath])
    if (unsigned(await req(big.key, p)) !== unsigned(await req(big.key, `/bench/norouting${p}`)))
      throw new Error(`the routed answer differs from D1's: ${p}`);

  // D1 round trips per request, counted on the D1 path (the same on every call of a case).
  const trips = {};
  const counted = cases(big, "/bench/trips");
  for (const name of Object.keys(counted)) {
    await counted[name]();
    trips[name] = lastTrips;
  }
  await req(big.key, "/bench/trips/api/user-info/");
  const floorTrips = lastTrips;
  // D1 round trips of each routed case: the Worker's (its routing lookup is cached once an id is known to have
  // moved) and the object's (counted by the bench object's env.DB, /bench/objtrips).
  const routedTrips = {};
  const routedOnce = cases(big, "");
  for (const name of Object.keys(routedOnce)) {
    await routedOnce[name]();
    const before = (await req(big.key, `/bench/objtrips/${big.datasetId}`)).trips;
    await routedOnce[name]();
    routedTrips[name] = (await req(big.key, `/bench/objtrips/${big.datasetId}`)).trips - before;
  }

  const floorFn = () => req(big.key, "/api/user-info/");
  const rows = [];
  for (let i = 0; i < 10; i++) await floorFn();
  const floorBefore = await timeIt(N, floorFn);
  const d1 = cases(big, "/bench/norouting");
  const store = cases(big, `/bench/store/${big.datasetId}`);
  for (const name of Object.keys(d1)) {
    for (let i = 0; i < 10; i++) await d1[name](), await store[name]();
    const a = await timeIt(N, d1[name]);
    const b = await timeIt(N, store[name]);
    rows.push([name, a, b]);
  }
  const concD1 = await concurrent(() => "/bench/norouting");
  const concStore = await concurrent((ds) => `/bench/store/${ds.datasetId}`);

  const routed = cases(big, "");
  for (const row of rows) {
    for (let i = 0; i < 10; i++) await routed[row[0]]();
    row.push(await timeIt(N, routed[row[0]]));
  }
  // The same routed cases, each against a floor measured alongside it (one floor request, one case request, and so
  // on): the machine's drift over the run (the floor moved from 7.3 to 5.2 ms in run E) cancels out of this ratio.
  const paired = [];
  for (const [name] of rows) paired.push([name, ...(await timeAlternating(N, routed[name], floorFn))]);
  const concRouted = await concurrent(() => "");
  const floorAfter = await timeIt(N, floorFn);
  const floor = (floorBefore.median + floorAfter.median) / 2;
  // What a routed request pays before any app code: the local HTTP path, one fetch RPC into the object, and one JS
  // RPC call carrying a Request and answering a Response (how the Worker forwards since run F).
  const noop = await timeIt(N, () => req(big.key, "/bench/noop"));
  const hop = await timeIt(N, () => req(big.key, `/bench/hop/${big.datasetId}`));
  const rpcHop = await timeIt(N, () => req(big.key, `/bench/rpcreq/${big.datasetId}`));
  // The SQL alone of a routed contents page (its six statements, toArray() included), run 100 pages per call inside
  // the object, against the same call running none: time does not advance inside one call, so it is timed outside.
  const sqlLoop = (n) => () => req(big.key, `/bench/sqlloop/${big.datasetId}?n=${n}&first=${big.firstImageId}&images=${IMAGES}`);
  const sqlNone = await timeIt(20, sqlLoop(0));
  const sqlHundred = await timeIt(20, sqlLoop(100));
  const sqlPerPage = (sqlHundred.median - sqlNone.median) / 100;

  const boxes = IMAGES * PER_IMAGE;
  const storeBytes = copyBig.counts.store.bytes;
  const allBoxes = boxes + CONC * CONC_IMAGES * 10;
  const allImages = IMAGES + CONC * CONC_IMAGES;
  const allStoreBytes = storeBytes + smallCopies.reduce((s, c) => s + c.counts.store.bytes, 0);
  console.log(`machine: ${machine()}`);
  console.log(`seed: ${IMAGES} images / ${boxes} boxes (+ ${CONC} datasets of ${CONC_IMAGES} images / ${CONC_IMAGES * 10} boxes), seeded + server start in ${seedSeconds.toFixed(1)} s; n=${N} per case`);
  console.log(`copy D1 → object (production copyDatasetToStore, 1,000-row pages): ${copyBig.rows} rows in ${copyBig.seconds.toFixed(1)} s = ${Math.round(copyBig.rows / copyBig.seconds)} rows/s; counts equal`);
  console.log(`storage: object ${storeBytes} B for ${boxes} boxes = ${(storeBytes / boxes).toFixed(0)} B/box, ${(storeBytes / IMAGES).toFixed(0)} B/image (whole dataset incl. indexes, per box/image of that dataset)`);
  console.log(`storage: D1 file ${d1Bytes} B for all ${allBoxes} boxes = ${(d1Bytes / allBoxes).toFixed(0)} B/box; objects together ${allStoreBytes} B = ${(allStoreBytes / allBoxes).toFixed(0)} B/box, ${(allStoreBytes / allImages).toFixed(0)} B/image`);
  console.log(`floor GET /api/user-info/: median ${floorBefore.median.toFixed(1)} ms before, ${floorAfter.median.toFixed(1)} ms after (ratio base ${floor.toFixed(2)} ms)`);
  console.log(`D1 round trips of the floor request: ${floorTrips} (the key lookup is cached in the isolate)`);
  console.log(`without the app: the Worker answering at once ${noop.median.toFixed(2)} ms (${(noop.median / floor).toFixed(2)}× the floor); one fetch RPC into the object answered there at once ${hop.median.toFixed(2)} ms (${(hop.median / floor).toFixed(2)}×); one JS RPC call with a Request, answered with a Response ${rpcHop.median.toFixed(2)} ms (${(rpcHop.median / floor).toFixed(2)}×)`);
  console.log(`the SQL alone of one routed contents page (6 statements, ~700 rows, toArray), inside the object: ${sqlPerPage.toFixed(2)} ms (${(sqlPerPage / floor).toFixed(2)}× the floor)`);
  console.log("| case | D1 round trips | D1 median ms | D1 ×floor | object alone ms | ×floor | routed ms | routed ×floor | D1 p99 | object p99 | routed p99 |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const x = (t) => `${(t.median / floor).toFixed(1)}×`;
  for (const [name, a, b, r] of rows)
    console.log(`| ${name} | ${trips[name]} | ${a.median.toFixed(1)} | ${x(a)} | ${b.median.toFixed(1)} | ${x(b)} | ${r.median.toFixed(1)} | ${x(r)} | ${a.p99.toFixed(1)} | ${b.p99.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  console.log("| routed case, against the floor measured alongside | routed median ms | floor median ms | ×floor | routed p99 | floor p99 |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(`D1 round trips made by the object per routed request: ${Object.entries(routedTrips).map(([k, v]) => `${k} ${v}`).join("; ")}`);
  for (const [name, r, f] of paired)
    console.log(`| ${name} | ${r.median.toFixed(2)} | ${f.median.toFixed(2)} | ${(r.median / f.median).toFixed(2)}× | ${r.p99.toFixed(1)} | ${f.p99.toFixed(1)} |`);
  console.log(`| ${CONC} clients on ${CONC} datasets, ${CONC_SECONDS} s each | aggregate req/s | p50 ms | p99 ms |`);
  console.log("| --- | ---: | ---: | ---: |");
  console.log(`| D1 | ${concD1.rps.toFixed(0)} | ${concD1.p50.toFixed(1)} | ${concD1.p99.toFixed(1)} |`);
  console.log(`| objects alone | ${concStore.rps.toFixed(0)} | ${concStore.p50.toFixed(1)} | ${concStore.p99.toFixed(1)} |`);
  console.log(`| routed | ${concRouted.rps.toFixed(0)} | ${concRouted.p50.toFixed(1)} | ${concRouted.p99.toFixed(1)} |`);
  console.log(`export job, ${boxes} boxes as CSV (${exportD1.bytes} B), POST to done as polled: D1 ${exportD1.seconds.toFixed(1)} s, object ${exportObject.seconds.toFixed(1)} s (${(exportD1.seconds / exportObject.seconds).toFixed(2)}× as fast); job row created→updated: D1 ${exportD1.jobSeconds} s, object ${exportObject.jobSeconds} s`);
  console.log(`workerd peak RSS: ${server.workerdPeakMiB().toFixed(0)} MiB; requests sent again after a local runtime restart: ${restarts}`);
  // Last, since the D1 path above reads D1's copy, and after the table is out: the local runtime has stalled after
  // this long request before (BENCHMARKS.md). The production prune of the big dataset's D1 rows, in one request
  // (a 10-minute budget; production runs 10 s passes from the queue), then the routed answer once more.
  if (process.env.BENCH_PRUNE !== "0") {
    const ps = performance.now();
    const pruned = await req(big.key, `/bench/prune/${big.datasetId}?budget_ms=600000`, { method: "POST" });
    const pruneSeconds = (performance.now() - ps) / 1000;
    if (!pruned.done) throw new Error("prune not done in one request " + JSON.stringify(pruned));
    console.log(`prune of D1's copy of the big dataset (runD1Prune, 500-image transactions; its images, boxes, links and tags go by cascade): ${pruned.images} images, ${boxes} boxes in ${pruneSeconds.toFixed(1)} s`);
    const after = await req(big.key, path, { signal: AbortSignal.timeout(30_000) }).catch((e) => e);
    console.log(after instanceof Error ? `the routed contents page after the prune: no answer (${after.message}; the local stall)` : `the routed contents page after the prune: ${unsigned(after) === unsigned(fromD1) ? "unchanged" : "CHANGED"}`);
  }
} catch (e) {
  console.error(server.log().slice(-4000));
  throw e;
} finally {
  await server.stop();
}
