#!/usr/bin/env node
// Class-encoding lookups (issue 11, item 1): the bundled sorted tables binary-searched (src/formats/class-encodings.ts)
// against the baseline the issue rules out, the raw tables parsed into a Map on every request, and against the same
// Map built once per isolate. Runs in Node's V8 (the engine workerd embeds), on the modules esbuild bundles from
// src/ exactly as wrangler does; no server. `npm run bench -- class-encodings`. Heap figures need --expose-gc: the
// script re-runs itself with it.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { build } from "esbuild";
import { machine } from "./lib/server.mjs";

if (typeof globalThis.gc !== "function") {
  const r = spawnSync(process.execPath, ["--expose-gc", new URL(import.meta.url).pathname], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const OUT = path.join(ROOT, "bench/.out");
mkdirSync(OUT, { recursive: true });

// The module under test, bundled and minified as wrangler would (the tables come with it).
const ours = path.join(OUT, "class-encodings.mjs");
await build({
  entryPoints: [path.join(ROOT, "src/formats/class-encodings.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  outfile: ours,
  logLevel: "silent",
});
// The baseline ships the raw files as text modules (what a Text rule in wrangler.toml would bundle).
const raw = path.join(OUT, "class-encodings-raw.mjs");
const kgText = readFileSync(path.join(ROOT, "data/class-encodings/open-images-v6-class-descriptions.csv"), "utf8");
const wnText = readFileSync(path.join(ROOT, "data/class-encodings/imagenet-synset-to-human-label.tsv"), "utf8");
writeFileSync(raw, `export const KG=${JSON.stringify(kgText)};export const WN=${JSON.stringify(wnText)};`);

const bytes = (f) => {
  const b = readFileSync(f);
  return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length };
};

function heap() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** The baseline's parse: every row of both tables into one Map (quoted CSV names, a synset's first name). */
function parseToMap(kg, wn) {
  const m = new Map();
  for (const line of kg.split("\n")) {
    if (!line) continue;
    const c = line.indexOf(",");
    let name = line.slice(c + 1);
    if (name.startsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
    m.set(line.slice(0, c), name);
  }
  for (const line of wn.split("\n")) {
    if (!line) continue;
    const t = line.indexOf("\t");
    m.set(line.slice(0, t), line.slice(t + 1).split(",")[0]);
  }
  return m;
}

// Workload: the labels of one upload (an Open Images file names a few dozen classes) and a long random stream.
const kgIds = kgText
  .split("\n")
  .filter(Boolean)
  .map((l) => l.slice(0, l.indexOf(",")));
const wnIds = wnText
  .split("\n")
  .filter((l) => l.startsWith("n"))
  .map((l) => l.slice(0, 9));
let seed = 11;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const perUpload = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? pick(wnIds) : pick(kgIds)));
const stream = Array.from({ length: 200_000 }, (_, i) => (i % 2 ? pick(wnIds) : pick(kgIds)));

const time = (f) => {
  const t = performance.now();
  const r = f();
  return [performance.now() - t, r];
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// 1. Import cost and retained heap of each module (strings of the bundle included: workerd keeps them too).
const h0 = heap();
const [importOurs, mod] = await (async () => {
  const t = performance.now();
  const m = await import(ours);
  return [performance.now() - t, m];
})();
const [firstLookup] = time(() => perUpload.map((l) => mod.decodeClassId(l)));
const heapOurs = heap() - h0;
const h1 = heap();
const rawMod = await import(raw);
const heapRawText = heap() - h1;

// 2. Baseline: parse into a Map on every request, then decode that request's labels.
const perRequestMap = [];
let peakPerRequest = 0;
for (let i = 0; i < 15; i++) {
  const before = heap();
  const [ms, m] = time(() => {
    const m = parseToMap(rawMod.KG, rawMod.WN);
    for (const l of perUpload) m.get(l);
    return m;
  });
  peakPerRequest = Math.max(peakPerRequest, process.memoryUsage().heapUsed - before);
  if (m.size < 40_000) throw new Error("baseline map short");
  perRequestMap.push(ms);
}
// 2b. The same Map kept for the isolate's life: fast, but ~all rows live in the heap for good.
const h2 = heap();
const [buildOnce, isolateMap] = time(() => parseToMap(rawMod.KG, rawMod.WN));
const heapIsolateMap = heap() - h2;

// 3. Ours, per request: the same 30 labels.
const perRequestOurs = [];
for (let i = 0; i < 2000; i++) perRequestOurs.push(time(() => perUpload.map((l) => mod.decodeClassId(l)))[0]);

// 4. Per-lookup cost over the long stream (after warm-up), and agreement with the baseline Map on every id.
for (const l of stream.slice(0, 20_000)) mod.decodeClassId(l);
const [streamOurs] = time(() => {
  let n = 0;
  for (const l of stream) if (mod.decodeClassId(l) !== null) n++;
  return n;
});
const [streamMap] = time(() => {
  let n = 0;
  for (const l of stream) if (isolateMap.get(l) !== undefined) n++;
  return n;
});
let disagree = 0;
for (const id of [...kgIds, ...wnIds])
  if (mod.decodeClassId(id) !== isolateMap.get(id).trim().replace(/\s+/g, " ")) disagree++;

const ourBytes = bytes(ours);
const rawBytes = bytes(raw);
const mib = (b) => (b / 1024 / 1024).toFixed(2);
const kib = (b) => (b / 1024).toFixed(0);
const baseReq = median(perRequestMap);
const oursReq = median(perRequestOurs);
console.log(`machine: ${machine()}`);
console.log(
  `rows: ${kgIds.length} Knowledge Graph + ${wnIds.length} WordNet; ids decoded differently from the Map: ${disagree}`,
);
console.log(
  `per request (30 labels): baseline parse-to-Map ${baseReq.toFixed(1)} ms (heap +${mib(peakPerRequest)} MiB before gc); ` +
    `sorted lookup ${(oursReq * 1000).toFixed(1)} µs → ${(baseReq / oursReq).toFixed(0)}× faster`,
);
console.log(
  `per lookup (200,000 ids, warm): sorted ${((streamOurs * 1e6) / stream.length).toFixed(0)} ns, ` +
    `isolate-wide Map ${((streamMap * 1e6) / stream.length).toFixed(0)} ns (${(streamOurs / streamMap).toFixed(1)}× the Map)`,
);
console.log(
  `once per isolate: import ${importOurs.toFixed(1)} ms + first lookup (indexing) ${firstLookup.toFixed(1)} ms; ` +
    `Map built once ${buildOnce.toFixed(1)} ms (${(buildOnce / (importOurs + firstLookup)).toFixed(1)}×)`,
);
console.log(
  `isolate heap retained: sorted tables ${mib(heapOurs)} MiB; raw text ${mib(heapRawText)} MiB + its Map ` +
    `${mib(heapIsolateMap)} MiB = ${mib(heapRawText + heapIsolateMap)} MiB (${((heapRawText + heapIsolateMap) / heapOurs).toFixed(1)}× ours)`,
);
console.log(
  `bundle: sorted-table module ${kib(ourBytes.raw)} KiB (gzip ${kib(ourBytes.gzip)} KiB); ` +
    `raw tables as text ${kib(rawBytes.raw)} KiB (gzip ${kib(rawBytes.gzip)} KiB), ours ${(ourBytes.gzip / rawBytes.gzip).toFixed(2)}× gzip`,
);
