#!/usr/bin/env node
// Real-world and fuzzed images (issue 10), in Node with the very modules the Worker runs (src/media/*, bundled by
// esbuild, photon's Node build):
// 1. Happy path, before and after, in one run: the same operations through the media code of a base commit
//    (BENCH_BASE, default the commit before issue 10's media changes) and of the working tree, interleaved, so the
//    ratio is measured on the same machine at the same moment.
// 2. Worst case: every mutant (test/helpers/mutate.ts, fixed seeds) of every fixture and corpus-like file through
//    probe, end scan and two renders, each timed; against the same work on the unmutated files.
// 3. The structural end scan that ingestion now runs over every byte, against SHA-256 of the same bytes.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { machine, percentile } from "./lib/server.mjs";

const pct = (a, p) =>
  percentile(
    [...a].sort((x, y) => x - y),
    p,
  );

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const OUT = path.join(ROOT, "bench/.out/media-fuzz");
const BASE = process.env.BENCH_BASE ?? "0eb3d37";
mkdirSync(OUT, { recursive: true });
const { build } = await import("esbuild");
const sharp = (await import("sharp")).default;

async function bundle(dir, outfile, extra = "") {
  await build({
    stdin: {
      contents: `export * from "./src/media/render"; export * from "./src/media/encode"; export * from "./src/media/probe";${extra}`,
      resolveDir: dir,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    external: ["@cf-wasm/photon"],
    nodePaths: [path.join(ROOT, "node_modules")],
    outfile,
    logLevel: "error",
  });
  return import(outfile);
}

// The base commit's media code, as it was.
const beforeDir = path.join(OUT, "before");
rmSync(beforeDir, { recursive: true, force: true });
mkdirSync(beforeDir, { recursive: true });
execFileSync("sh", ["-c", `git archive ${BASE} src/media src/lib/bytes.ts | tar -x -C ${beforeDir}`], { cwd: ROOT });
const before = await bundle(beforeDir, path.join(OUT, "before.mjs"));
const after = await bundle(
  ROOT,
  path.join(OUT, "after.mjs"),
  ` export * from "./src/media/image-end"; export * from "./test/helpers/mutate"; export * from "./test/helpers/image-builders"; export * from "./test/helpers/fuzz-exercise";`,
);

console.log(`machine: ${machine()}`);
console.log(
  `base for "before": ${BASE} (${execFileSync("git", ["log", "-1", "--format=%s", BASE], { cwd: ROOT }).toString().trim().slice(0, 80)})`,
);

// 1. Happy path.
const photo = path.join(ROOT, "test/fixtures/remo-object-detection/images/00d2a568dd4afd0d.jpg");
const big = await sharp(photo).resize(4000, 3000, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer();
const bigPng = await sharp(photo)
  .resize(2000, 1500, { fit: "fill" })
  .ensureAlpha(0.5)
  .png({ compressionLevel: 1 })
  .toBuffer();
const fixturePhoto = readFileSync(path.join(ROOT, "test/fixtures/remo-object-detection/images/001a809ad40a2f84.jpg"));
const ops = [
  [
    "4000×3000 JPEG, whole at 1/4 → 1000×750 q95",
    new Uint8Array(big),
    4000,
    3000,
    { x: 0, y: 0, w: 4000, h: 3000 },
    [1000, 750],
  ],
  [
    "4000×3000 JPEG, 1100² crop at 0.7 → 770² q95",
    new Uint8Array(big),
    4000,
    3000,
    { x: 1000, y: 1000, w: 1100, h: 1100 },
    [770, 770],
  ],
  ["1024-px fixture photo → 256-px thumbnail", new Uint8Array(fixturePhoto), 1024, 0, null, [256, 0]],
  [
    "2000×1500 RGBA PNG (alpha ½), whole at 1/4 → 500×375",
    new Uint8Array(bigPng),
    2000,
    1500,
    { x: 0, y: 0, w: 2000, h: 1500 },
    [500, 375],
  ],
];
const N = 15;
console.log(`\n| operation (encode included) | before: median (min) | after: median (min) | after / before |`);
console.log(`| --- | --- | --- | --- |`);
for (const [name, bytes, w0, h0, crop0, out0] of ops) {
  const info = after.probeImage(bytes);
  const w = w0,
    h = info.height;
  const crop = crop0 ?? { x: 0, y: 0, w, h };
  const out = out0[1] ? out0 : [out0[0], Math.round((h * out0[0]) / w)];
  const times = { before: [], after: [] };
  for (let i = 0; i < N + 1; i++)
    for (const [label, m] of [
      ["before", before],
      ["after", after],
    ]) {
      const t = performance.now();
      m.encodeRaster(m.renderRegion({ bytes, width: w, height: h }, crop, out[0], out[1]), "jpg", 95);
      if (i > 0) times[label].push(performance.now() - t); // the first round warms both up
    }
  const med = (a) => pct(a, 50);
  const min = (a) => Math.min(...a);
  console.log(
    `| ${name} | ${med(times.before).toFixed(1)} ms (${min(times.before).toFixed(1)}) | ${med(times.after).toFixed(1)} ms (${min(times.after).toFixed(1)}) | ${(med(times.after) / med(times.before)).toFixed(2)}× |`,
  );
}

// An EXIF-turned copy of the big JPEG (orientation 6): the cost of applying orientation.
{
  const turned = new Uint8Array(big.length + after.exifSegment(6).length);
  turned.set(big.subarray(0, 2));
  turned.set(after.exifSegment(6), 2);
  turned.set(big.subarray(2), 2 + after.exifSegment(6).length);
  const t = { plain: [], turned: [] };
  for (let i = 0; i < N + 1; i++)
    for (const [label, bytes, W, H, crop, ow, oh] of [
      ["plain", new Uint8Array(big), 4000, 3000, { x: 0, y: 0, w: 4000, h: 3000 }, 1000, 750],
      ["turned", turned, 3000, 4000, { x: 0, y: 0, w: 3000, h: 4000 }, 750, 1000],
    ]) {
      const s = performance.now();
      after.encodeRaster(after.renderRegion({ bytes, width: W, height: H }, crop, ow, oh), "jpg", 95);
      if (i > 0) t[label].push(performance.now() - s);
    }
  console.log(
    `| orientation 6 applied (same JPEG, whole at 1/4), after only | plain ${pct(t.plain, 50).toFixed(1)} ms | turned ${pct(t.turned, 50).toFixed(1)} ms | ${(pct(t.turned, 50) / pct(t.plain, 50)).toFixed(2)}× |`,
  );
}

// 2. Worst case over fuzzed inputs.
const fixtures = path.join(ROOT, "test/fixtures");
const bases = readdirSync(fixtures)
  .filter((f) => /\.(jpg|png)$/.test(f))
  .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(path.join(fixtures, f))) }));
for (const f of readdirSync(path.join(fixtures, "remo-object-detection/images")).slice(0, 3))
  bases.push({ name: f, bytes: new Uint8Array(readFileSync(path.join(fixtures, "remo-object-detection/images", f))) });
const pic = after.raster(640, 480, (x, y) => [x % 256, y % 256, (x ^ y) & 255]);
bases.push({ name: "exif6.jpg", bytes: after.buildJpeg(pic, [after.exifSegment(6)]) });
bases.push({
  name: "trns.png",
  bytes: after.buildPng(300, 200, 2, 8, (x, y) => [x % 256, y % 256, (x + y) % 2 ? 0 : 255], {
    trns: [0, 0, 0, 0, 0, 255],
    after: new Uint8Array(100),
  }),
});
const exercise = (bytes, name = "") => after.exerciseImage(name, bytes, 256);
const baseTimes = [];
for (const b of bases) {
  exercise(b.bytes);
  const t = performance.now();
  exercise(b.bytes);
  baseTimes.push(performance.now() - t);
}
const all = bases.flatMap((b, k) => after.mutants(b.name, b.bytes, 1000 + k, 6));
const timed = [];
const outcomes = new Map();
for (const m of all) {
  const t = performance.now();
  const o = exercise(m.bytes, m.name);
  timed.push({ ms: performance.now() - t, name: m.name });
  outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
}
timed.sort((a, b) => b.ms - a.ms);
const ms = timed.map((t) => t.ms);
console.log(`\nfuzz: ${bases.length} files, ${all.length} mutants`);
console.log(`| inputs | median | p99 | worst | worst / median of the valid files |`);
console.log(`| --- | --- | --- | --- | --- |`);
console.log(
  `| the ${bases.length} valid files | ${pct(baseTimes, 50).toFixed(1)} ms | | ${Math.max(...baseTimes).toFixed(1)} ms | |`,
);
console.log(
  `| ${all.length} mutants | ${pct(ms, 50).toFixed(1)} ms | ${pct(ms, 99).toFixed(1)} ms | ${timed[0].ms.toFixed(1)} ms | ${(timed[0].ms / pct(baseTimes, 50)).toFixed(1)}× |`,
);
console.log(
  `slowest: ${timed
    .slice(0, 5)
    .map((t) => `${t.name} ${t.ms.toFixed(0)} ms`)
    .join(", ")}`,
);
console.log(`outcomes: ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(", ")}`);

// 3. The end scan against SHA-256 over the same 4000×3000 JPEG bytes.
{
  const bytes = new Uint8Array(big);
  const t = { scan: [], sha: [] };
  for (let i = 0; i < 11; i++) {
    let s = performance.now();
    const sc = new after.ImageEndScanner("image/jpeg");
    for (let o = 0; o < bytes.length; o += 1 << 20) sc.push(bytes.subarray(o, o + (1 << 20)));
    if (!sc.complete) throw new Error("scan did not complete");
    t.scan.push(performance.now() - s);
    s = performance.now();
    createHash("sha256").update(bytes).digest();
    t.sha.push(performance.now() - s);
  }
  console.log(
    `\nend scan of a ${(bytes.length / 1048576).toFixed(2)} MiB JPEG: ${pct(t.scan, 50).toFixed(2)} ms; SHA-256 of the same bytes: ${pct(t.sha, 50).toFixed(2)} ms (${(pct(t.scan, 50) / pct(t.sha, 50)).toFixed(2)}×)`,
  );
}

// 4. Agreement with libvips (sharp): every EXIF orientation applied (sharp's `.rotate()` auto-orients), and PNG
//    tRNS (grey 2-bit and RGB 8-bit keys) decoded to the same alpha.
{
  const psnr = (a, b) => {
    let se = 0;
    let n = 0;
    for (let i = 0; i < a.length; i += 4)
      for (let c = 0; c < 3; c++) {
        se += (a[i + c] - b[i + c]) ** 2;
        n++;
      }
    return se ? 10 * Math.log10((255 * 255 * n) / se) : Infinity;
  };
  const src = await sharp(photo).resize(320, 200, { fit: "fill" }).jpeg({ quality: 95 }).toBuffer();
  const rows = [];
  for (let o = 1; o <= 8; o++) {
    const jpeg = new Uint8Array(await sharp(src).withMetadata({ orientation: o }).jpeg({ quality: 95 }).toBuffer());
    const info = after.probeImage(jpeg);
    const ours = after.renderRegion(
      { bytes: jpeg, width: info.width, height: info.height },
      { x: 0, y: 0, w: info.width, h: info.height },
      info.width,
      info.height,
    );
    const ref = await sharp(Buffer.from(jpeg)).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const same = ref.info.width === ours.width && ref.info.height === ours.height;
    rows.push(
      `${o}: ${ours.width}×${ours.height} ${same ? psnr(ours.data, ref.data).toFixed(1) + " dB" : "SIZE DIFFERS"}`,
    );
  }
  console.log(`\norientation against sharp .rotate() (upright size, PSNR): ${rows.join("; ")}`);
  const pngs = [
    ["grey 2-bit key", after.buildPng(64, 8, 0, 2, (x) => [x % 4], { trns: [0, 1] })],
    [
      "RGB 8-bit key",
      after.buildPng(64, 8, 2, 8, (x) => (x % 3 ? [x, 9, 9] : [0, 0, 255]), { trns: [0, 0, 0, 0, 0, 255] }),
    ],
  ];
  for (const [name, png] of pngs) {
    const ours = after.renderRegion({ bytes: png, width: 64, height: 8 }, { x: 0, y: 0, w: 64, h: 8 }, 64, 8);
    const ref = await sharp(Buffer.from(png)).ensureAlpha().raw().toBuffer();
    let diff = 0;
    for (let i = 3; i < ref.length; i += 4) if (ref[i] !== ours.data[i]) diff++;
    console.log(`tRNS ${name}: alpha differs from libvips on ${diff} of ${ref.length / 4} pixels`);
  }
}
