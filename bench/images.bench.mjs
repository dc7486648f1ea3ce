#!/usr/bin/env node
// Images (issue 6): our media pipeline against sharp (native libvips) on the same 4000×3000 JPEG, side by side.
// 1. In Node, each operation in its own child process, running the very modules the Worker runs (src/media/*,
//    bundled by esbuild, photon's Node build): time, photon's WASM memory (the instance's memory.buffer, which only
//    grows, so its size after the run is the peak) and the process's peak RSS; the same work with sharp.
// 2. Through the Worker (`wrangler dev` on port 8794, its own state): downsample miss and hit, the pyramid job
//    (cache → queue → cached), a DZI tile from the built pyramid; peak RSS of workerd.
import { spawnSync, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { machine, percentile, startServer } from "./lib/server.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const OUT = path.join(ROOT, "bench/.out/images");
const BIG = path.join(OUT, "big-4000x3000.jpg");
const MEDIA = path.join(OUT, "media.mjs");
const PORT = 8794;
// Remo's viewer calls: the whole photo at 1/4, and the 1100×1100 crop at 0.7.
const FULL = { crop: { x: 0, y: 0, w: 4000, h: 3000 }, out: [1000, 750] };
const CROP = { crop: { x: 1000, y: 1000, w: 1100, h: 1100 }, out: [770, 770] };
// DZI (tile 254, overlap 1) level 12 = full resolution; tile 7_5 covers x 1777..2033, y 1269..1525.
const TILE = { crop: { x: 7 * 254 - 1, y: 5 * 254 - 1, w: 256, h: 256 }, out: [256, 256] };

if (process.argv[2] === "--child") await child(process.argv[3], process.argv[4]);
else await main();

async function main() {
  mkdirSync(OUT, { recursive: true });
  const sharp = (await import("sharp")).default;
  if (!existsSync(BIG)) {
    const photo = path.join(ROOT, "test/fixtures/remo-object-detection/images/00d2a568dd4afd0d.jpg");
    writeFileSync(BIG, await sharp(photo).resize(4000, 3000, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer());
  }
  const { build } = await import("esbuild");
  await build({
    stdin: {
      contents: `export * from "./src/media/render"; export * from "./src/media/encode"; export * from "./src/media/pyramid";`,
      resolveDir: ROOT,
      loader: "ts",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    external: ["@cf-wasm/photon"],
    outfile: MEDIA,
    logLevel: "error",
  });

  console.log(`machine: ${machine()}`);
  console.log(`input: 4000×3000 JPEG (q90, 4:2:0), ${(readFileSync(BIG).length / 1048576).toFixed(2)} MiB\n`);
  const rows = [];
  for (const op of ["miss-full", "miss-crop", "pyramid", "tile"]) {
    const ours = runChild("ours", op);
    const native = runChild("sharp", op);
    rows.push({ op, ours, native });
  }
  console.log(
    "| operation | ours median (min) | ours WASM peak | ours RSS peak | sharp median (min) | sharp RSS peak | ours / sharp (medians) |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const { op, ours, native } of rows) {
    console.log(
      `| ${op} | ${ours.median.toFixed(0)} ms (${ours.min.toFixed(0)}) | ${ours.wasmMiB.toFixed(1)} MiB | ${ours.rssMiB.toFixed(0)} MiB | ${native.median.toFixed(0)} ms (${native.min.toFixed(0)}) | ${native.rssMiB.toFixed(0)} MiB | ${(ours.median / native.median).toFixed(1)}× |`,
    );
  }
  await worker();
}

function runChild(impl, op) {
  const r = spawnSync(process.execPath, ["--expose-gc", new URL(import.meta.url).pathname, "--child", impl, op], {
    encoding: "utf8",
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`${impl} ${op} failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

async function child(impl, op) {
  let memory = null;
  // Capture photon's instance memory: the glue keeps it private, so watch the instantiation.
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const inst = new Instance(module, imports);
    for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) memory = v;
    return inst;
  };
  WebAssembly.Instance.prototype = Instance.prototype;
  const bytes = new Uint8Array(readFileSync(BIG));
  const src = { bytes, width: 4000, height: 3000 };
  const times = [];
  const n = op === "pyramid" ? 3 : 7;
  if (impl === "ours") {
    const m = await import(MEDIA);
    const chunks = new Map();
    const put = async (L, cx, cy, b) => void chunks.set(`${L}/${cx}_${cy}`, b);
    const get = async (L, cx, cy) => chunks.get(`${L}/${cx}_${cy}`) ?? null;
    let manifest = null;
    if (op === "tile") manifest = await m.buildLevels(src, put);
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      if (op === "miss-full") m.encodeRaster(m.renderRegion(src, FULL.crop, ...FULL.out), "jpg", 95);
      else if (op === "miss-crop") m.encodeRaster(m.renderRegion(src, CROP.crop, ...CROP.out), "jpg", 95);
      else if (op === "pyramid") await m.buildLevels(src, put);
      else m.encodeRaster((await m.renderFromChunks(manifest, TILE.crop, ...TILE.out, get))(), "jpg", 90);
      times.push(performance.now() - t);
    }
  } else {
    const sharp = (await import("sharp")).default;
    sharp.cache(false);
    const buf = Buffer.from(bytes);
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      if (op === "miss-full")
        await sharp(buf)
          .resize(...FULL.out)
          .jpeg({ quality: 95 })
          .toBuffer();
      else if (op === "miss-crop")
        await sharp(buf)
          .extract({ left: CROP.crop.x, top: CROP.crop.y, width: CROP.crop.w, height: CROP.crop.h })
          .resize(...CROP.out)
          .jpeg({ quality: 95 })
          .toBuffer();
      else if (op === "pyramid") {
        const dir = path.join(OUT, `sharp-dz-${process.pid}`);
        rmSync(dir, { recursive: true, force: true });
        await sharp(buf).jpeg({ quality: 90 }).tile({ size: 512, overlap: 0, layout: "dz" }).toFile(dir);
      } else
        await sharp(buf)
          .extract({ left: TILE.crop.x, top: TILE.crop.y, width: TILE.crop.w, height: TILE.crop.h })
          .jpeg({ quality: 90 })
          .toBuffer();
      times.push(performance.now() - t);
    }
  }
  times.sort((a, b) => a - b);
  const status = readFileSync("/proc/self/status", "utf8");
  const rssMiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]) / 1024;
  console.log(
    JSON.stringify({
      median: percentile(times, 50),
      min: times[0],
      wasmMiB: memory ? memory.buffer.byteLength / 1048576 : 0,
      rssMiB,
    }),
  );
}

async function worker() {
  const key = randomBytes(24).toString("base64url");
  const big = readFileSync(BIG);
  const sha = createHash("sha256").update(big).digest("hex");
  let imageId = 0;
  const server = await startServer({
    port: PORT,
    beforeStart: async (d1File) => {
      const Database = (await import("better-sqlite3")).default;
      const db = new Database(d1File);
      const userId = db
        .prepare("INSERT INTO users (email, name, password_hash) VALUES (?, 'Bench', 'x') RETURNING id")
        .get(`img${Date.now()}@example.com`).id;
      db.prepare("INSERT INTO api_keys (user_id, key_hash) VALUES (?, ?)").run(
        userId,
        createHash("sha256").update(key).digest("hex"),
      );
      const dsId = db
        .prepare(
          "INSERT INTO datasets (owner_id, name, image_count, size_in_bytes) VALUES (?, 'images bench', 1, ?) RETURNING id",
        )
        .get(userId, big.length).id;
      imageId = db
        .prepare(
          "INSERT INTO images (dataset_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, 'big.jpg', ?, ?, 'image/jpeg', ?, 4000, 3000) RETURNING id",
        )
        .get(dsId, sha, `images/${sha}`, big.length).id;
      db.close();
      execFileSync(
        path.join(ROOT, "node_modules/.bin/wrangler"),
        [
          "r2",
          "object",
          "put",
          `remo-data/images/${sha}`,
          "--file",
          BIG,
          "--local",
          "--persist-to",
          path.dirname(path.dirname(path.dirname(path.dirname(d1File)))),
        ],
        {
          cwd: ROOT,
          stdio: "ignore",
          env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
        },
      );
    },
  });
  const H = { authorization: `Token ${key}` };
  const timed = async (url, headers = H) => {
    const t = performance.now();
    const r = await fetch(server.base + url, { headers });
    const body = await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url}: ${r.status} ${Buffer.from(body).toString().slice(0, 300)}`);
    return { ms: performance.now() - t, res: r };
  };
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (n=${s.length})`;
  };
  try {
    const ds = (x) =>
      `/api/v1/ui/images/${imageId}/downsample/?source_x=${x}&source_y=0&source_width=4000&source_height=3000&downscale=0.25&quality=95`;
    await timed(ds(999)); // warm-up (isolate start, photon instantiation)
    const miss = [];
    for (let i = 0; i < 8; i++) miss.push((await timed(ds(i))).ms);
    const baseline = [];
    for (let i = 0; i < 50; i++) baseline.push((await timed("/api/user-info/")).ms);
    // The first hit of a key reads KV (and promotes it into the isolate tier); later ones come from the isolate.
    const tierOf = (r) => r.res.headers.get("x-cache-tier");
    const kvHit = [];
    for (let i = 0; i < 8; i++) {
      const r = await timed(ds(i));
      if (tierOf(r) !== "kv") throw new Error(`expected a KV hit, got ${tierOf(r)}`);
      kvHit.push(r.ms);
    }
    const hit = [];
    for (let i = 0; i < 50; i++) {
      const r = await timed(ds(0));
      if (tierOf(r) !== "isolate") throw new Error(`expected an isolate-tier hit, got ${tierOf(r)}`);
      hit.push(r.ms);
    }
    const etag = (await timed(ds(0))).res.headers.get("etag");
    const notModified = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const r = await fetch(server.base + ds(0), { headers: { ...H, "if-none-match": etag } });
      await r.arrayBuffer();
      if (r.status !== 304) throw new Error(`expected 304, got ${r.status}`);
      notModified.push(performance.now() - t);
    }
    const missCrop = [];
    for (let i = 0; i < 8; i++)
      missCrop.push(
        (
          await timed(
            `/api/v1/ui/images/${imageId}/downsample/?source_x=${1000 + i}&source_y=1000&source_width=1100&source_height=1100&downscale=0.7`,
          )
        ).ms,
      );
    const rssAfterMiss = server.workerdPeakMiB();

    const t0 = performance.now();
    await timed(`/api/v1/ui/images/${imageId}/cache/`);
    for (;;) {
      const r = await fetch(`${server.base}/api/v1/ui/images/${imageId}/cache/`, { headers: H });
      const body = await r.json();
      if (body.status.endsWith("cached")) break;
      if (performance.now() - t0 > 120_000) throw new Error("pyramid not built in 120 s: " + server.log().slice(-2000));
      await new Promise((r) => setTimeout(r, 100));
    }
    const pyramidMs = performance.now() - t0;
    const links = await (await fetch(`${server.base}/api/v1/ui/images/${imageId}/deepzoom/`, { headers: H })).json();
    const files = links.dzi.replace(/\.dzi$/, "_files");
    const tiles = [];
    for (let i = 0; i < 10; i++) tiles.push((await timed(`${files}/12/${3 + i}_5.jpg`, {})).ms);
    const tileHit = [];
    for (let i = 0; i < 20; i++) tileHit.push((await timed(`${files}/12/3_5.jpg`, {})).ms);
    const pyrMiss = [];
    for (let i = 0; i < 8; i++) pyrMiss.push((await timed(ds(100 + i))).ms);
    console.log(
      `\nThrough the Worker (wrangler dev, port ${PORT}, local Miniflare bindings, HTTP round trip included):`,
    );
    console.log(`- downsample miss, whole image at 0.25 (1000×750), from the original: ${stats(miss)}`);
    console.log(`- downsample miss, 1100×1100 crop at 0.7, from the original: ${stats(missCrop)}`);
    console.log(`- downsample hit, first read of a key (KV tier, then promoted): ${stats(kvHit)}`);
    console.log(`- downsample hit, repeated (isolate tier): ${stats(hit)}`);
    console.log(`- downsample, If-None-Match → 304 (no read at all): ${stats(notModified)}`);
    console.log(`- for scale, GET /api/user-info/ (key check and one D1 read, no image work): ${stats(baseline)}`);
    console.log(
      `- pyramid build (cache → queue → cached, includes queue delivery and 100 ms polling): ${pyramidMs.toFixed(0)} ms`,
    );
    console.log(`- DZI tile, full resolution, from the built pyramid (miss): ${stats(tiles)}`);
    console.log(`- DZI tile hit (KV): ${stats(tileHit)}`);
    console.log(`- downsample miss, whole image at 0.25, from the built pyramid: ${stats(pyrMiss)}`);
    console.log(
      `- workerd peak RSS: ${rssAfterMiss.toFixed(0)} MiB after the downsamples, ${server.workerdPeakMiB().toFixed(0)} MiB at the end (whole process: runtime, Miniflare's bindings, every isolate)`,
    );
  } finally {
    await server.stop();
  }
}
