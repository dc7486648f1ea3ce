#!/usr/bin/env node
// Pages (issue 12): first load of the dataset page for a 10,000-image dataset, in Debian's Chromium against
// `wrangler dev` (port 8797, its own state), from navigation to the first screen of thumbnails drawn; as a ratio
// against the same page for the 7-image dataset, measured in the same run. Also: the gzipped JS the page loads (as
// pages/build.mjs prints it), the contents API page for both, and the DOM size after scrolling through 2,000+ images.
//
// Seeding, honestly: the 7 Open Images fixture photos with their 40 CSV boxes and tags are uploaded through the API
// into two datasets (the baseline and the big one). Then, with the server stopped, the big dataset's 7 image rows are
// copied (with their annotation, objects, classes and tags) into the local D1 file until it holds 10,000 images, and
// its counters are recomputed. Each copy keeps the original's sha256 and R2 key, exactly the row an upload of the same
// bytes stores (originals are stored once per checksum), so every thumbnail is real and served by the Worker.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { chromium } from "playwright-core";
import { d1File, machine, percentile, startServer } from "./lib/server.mjs";
import { call, uploadFixtureDataset } from "../test/browser/setup/fixture-seed.mjs";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const PORT = 8797;
const BIG = 10_000;
const RUNS = 9;
const PASSWORD = "bench-password-pages";

/** Copies the dataset's images (and their annotation rows) round-robin until it holds `total` images. */
function growDataset(file, datasetId, total) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insert = new Map();
  const copy = (table, row, over) => {
    const r = { ...row, ...over };
    delete r.id;
    const cols = Object.keys(r);
    const k = `${table}:${cols.join(",")}`;
    if (!insert.has(k))
      insert.set(
        k,
        db.prepare(
          `INSERT INTO ${table} (${cols.join(",")}) VALUES (${cols.map((c) => "@" + c).join(",")}) RETURNING id`,
        ),
      );
    return insert.get(k).get(r).id;
  };
  db.transaction(() => {
    const originals = db.prepare("SELECT * FROM images WHERE dataset_id = ? ORDER BY id").all(datasetId);
    const rowsOf = (table, imageId) => db.prepare(`SELECT * FROM ${table} WHERE image_id = ? ORDER BY id`).all(imageId);
    const src = originals.map((img) => ({
      img,
      annotations: rowsOf("annotations", img.id),
      objects: rowsOf("annotation_objects", img.id),
      links: rowsOf("annotation_classes", img.id),
      tags: db.prepare("SELECT * FROM image_tags WHERE image_id = ?").all(img.id),
    }));
    for (let n = originals.length; n < total; n++) {
      const s = src[n % src.length];
      const imageId = copy("images", s.img, {
        original_name: `copy${String(n).padStart(5, "0")}_${s.img.original_name}`,
      });
      const annIds = new Map(s.annotations.map((a) => [a.id, copy("annotations", a, { image_id: imageId })]));
      const objIds = new Map(
        s.objects.map((o) => [
          o.id,
          copy("annotation_objects", o, { image_id: imageId, annotation_id: annIds.get(o.annotation_id) }),
        ]),
      );
      for (const l of s.links)
        copy("annotation_classes", l, {
          image_id: imageId,
          annotation_id: annIds.get(l.annotation_id),
          object_id: l.object_id === null ? null : objIds.get(l.object_id),
        });
      for (const t of s.tags) {
        const { id, ...rest } = t;
        db.prepare(
          `INSERT INTO image_tags (${Object.keys(rest).join(",")}) VALUES (${Object.keys(rest)
            .map((c) => "@" + c)
            .join(",")})`,
        ).run({
          ...rest,
          image_id: imageId,
        });
      }
    }
    // The counters the API keeps, recomputed from the rows.
    db.prepare(
      "UPDATE datasets SET image_count = (SELECT COUNT(*) FROM images WHERE dataset_id = @d), size_in_bytes = (SELECT SUM(size) FROM images WHERE dataset_id = @d) WHERE id = @d",
    ).run({ d: datasetId });
    for (const { id: setId } of db.prepare("SELECT id FROM annotation_sets WHERE dataset_id = ?").all(datasetId)) {
      db.prepare(
        `UPDATE annotation_sets SET annotated_images = (SELECT COUNT(*) FROM annotations WHERE set_id = @s),
          done_count = (SELECT COUNT(*) FROM annotations WHERE set_id = @s AND status = 1),
          skipped_count = (SELECT COUNT(*) FROM annotations WHERE set_id = @s AND status = 0),
          total_objects = (SELECT COUNT(*) FROM annotation_objects WHERE set_id = @s) WHERE id = @s`,
      ).run({ s: setId });
      db.prepare(
        `UPDATE annotation_set_classes SET
          object_count = (SELECT COUNT(*) FROM annotation_classes ac WHERE ac.set_id = @s AND ac.class_id = annotation_set_classes.class_id AND ac.object_id IS NOT NULL),
          image_count = (SELECT COUNT(DISTINCT image_id) FROM annotation_classes ac WHERE ac.set_id = @s AND ac.class_id = annotation_set_classes.class_id)
         WHERE set_id = @s`,
      ).run({ s: setId });
    }
  })();
  const n = db.prepare("SELECT image_count AS n FROM datasets WHERE id = ?").get(datasetId).n;
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.pragma("journal_mode = DELETE");
  db.close();
  return n;
}

/** In the page: performance.now() once every tile whose top is on screen has its picture loaded, else false. */
function firstScreenDrawn() {
  const tiles = [...document.querySelectorAll(".tile")];
  const onScreen = tiles.filter((t) => t.getBoundingClientRect().top < innerHeight);
  if (!onScreen.length) return false;
  for (const t of onScreen) {
    const img = t.querySelector("img");
    if (!img.complete || !img.naturalWidth) return false;
  }
  return {
    ms: performance.now(),
    firstTile: window.__firstTile,
    tiles: onScreen.length,
    shapes: document.querySelectorAll(".tile .shape").length,
  };
}

/** Before any page script: records when the first tile (with its shapes, before its picture) enters the DOM. */
function watchFirstTile() {
  new MutationObserver((_, obs) => {
    if (document.querySelector(".tile")) {
      window.__firstTile = performance.now();
      obs.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
}

async function main() {
  console.log(
    `machine: ${machine()}; load average at start: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  const build = execFileSync(process.execPath, [path.join(ROOT, "pages/build.mjs")], { cwd: ROOT, encoding: "utf8" });
  const jsLine = build.split("\n").find((l) => l.startsWith("pages: dataset.js"));
  const jsKB = Number(/([\d.]+) KB gzipped/.exec(jsLine)[1]);
  console.log(`build: ${jsLine.trim()}`);

  let srv = await startServer({ port: PORT });
  const email = `pages-bench-${Date.now()}@example.com`;
  const { key } = await call(srv.base, "POST", "/api/signup/", null, { email, password: PASSWORD, name: "Bench" });
  const small = await uploadFixtureDataset(srv.base, key, "Seven images");
  const big = await uploadFixtureDataset(srv.base, key, "Ten thousand images");
  await srv.stop();
  const t0 = performance.now();
  const grown = growDataset(d1File(srv.persistDir), big, BIG);
  console.log(
    `seeded: ${grown} images in dataset ${big} (copies of 7 uploaded rows) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  srv = await startServer({ port: PORT, persistDir: srv.persistDir, fresh: false });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  try {
    // One signed-in session (the HttpOnly cookie), reused by every run's fresh context: cold browser cache each run.
    const login = await browser.newContext({ baseURL: srv.base });
    const lp = await login.newPage();
    await lp.goto("/login");
    await lp.getByLabel("Email").fill(email);
    await lp.getByLabel("Password").fill(PASSWORD);
    await Promise.all([
      lp.waitForURL((u) => u.pathname === "/datasets"),
      lp.getByRole("button", { name: "Sign in" }).click(),
    ]);
    const state = await login.storageState();
    await login.close();

    const firstLoad = async (datasetId) => {
      const ctx = await browser.newContext({
        baseURL: srv.base,
        storageState: state,
        viewport: { width: 1280, height: 860 },
      });
      await ctx.addInitScript(watchFirstTile);
      const page = await ctx.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
      await page.goto(`/datasets/${datasetId}`, { waitUntil: "commit" });
      const h = await page.waitForFunction(firstScreenDrawn, null, { polling: "raf", timeout: 60_000 });
      const r = await h.jsonValue();
      if (errors.length) throw new Error(errors.join("\n"));
      return { ...r, page, ctx };
    };

    // Warm-up: each preview is built once (kept in KV by checksum; both datasets share the 7 checksums).
    for (const id of [small, big]) (await firstLoad(id)).ctx.close();

    const times = { small: [], big: [] };
    const tileTimes = { small: [], big: [] };
    let sample;
    for (let i = 0; i < RUNS; i++) {
      for (const [name, id] of [
        ["small", small],
        ["big", big],
      ]) {
        const r = await firstLoad(id);
        times[name].push(r.ms);
        tileTimes[name].push(r.firstTile);
        if (name === "big") sample = { tiles: r.tiles, shapes: r.shapes };
        await r.ctx.close();
      }
    }
    const med = (xs) =>
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      );
    const mSmall = med(times.small);
    const mBig = med(times.big);
    const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    console.log(`\nfirst screen of thumbnails drawn, from navigation (median of ${RUNS}, fresh context each):`);
    console.log(
      `| dataset | pictures drawn: median | range | tiles and shapes in the DOM (before pictures): median | range |`,
    );
    console.log(`| --- | --- | --- | --- | --- |`);
    for (const [label, k] of [
      ["7 images (baseline)", "small"],
      ["10,000 images", "big"],
    ])
      console.log(
        `| ${label} | ${med(times[k]).toFixed(0)} ms | ${range(times[k])} ms | ${med(tileTimes[k]).toFixed(0)} ms | ${range(tileTimes[k])} ms |`,
      );
    console.log(
      `ratio 10,000 / 7: pictures ${(mBig / mSmall).toFixed(2)}×, tiles ${(med(tileTimes.big) / med(tileTimes.small)).toFixed(2)}×; first screen: ${sample.tiles} tiles, ${sample.shapes} shapes in the DOM`,
    );

    // The API page behind it (contents, 48 items with annotations), from Node with the key.
    const apiTime = async (id) => {
      const t = [];
      for (let i = 0; i < 15; i++) {
        const s = performance.now();
        await call(srv.base, "GET", `/api/v1/ui/datasets/${id}/contents/?limit=48`, key);
        t.push(performance.now() - s);
      }
      return med(t);
    };
    console.log(
      `contents API page (48 items): 7 images ${(await apiTime(small)).toFixed(1)} ms, 10,000 images ${(await apiTime(big)).toFixed(1)} ms (median of 15)`,
    );

    // Scrolling far: the DOM stays the size of a screen while the loaded list grows.
    const r = await firstLoad(big);
    const dom0 = await r.page.evaluate(() => document.getElementsByTagName("*").length);
    let loaded = 0;
    for (let i = 0; i < 200 && loaded < 2000; i++) {
      await r.page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      await r.page.waitForSelector('[data-testid="grid"][data-loading="false"]');
      loaded = Number(await r.page.getAttribute('[data-testid="grid"]', "data-loaded"));
    }
    const after = await r.page.evaluate(() => ({
      nodes: document.getElementsByTagName("*").length,
      tiles: document.querySelectorAll(".tile").length,
    }));
    await r.ctx.close();
    console.log(
      `DOM: ${dom0} elements at first screen; after scrolling to ${loaded} loaded images: ${after.nodes} elements, ${after.tiles} tiles`,
    );

    const ok = mBig < 1000 && jsKB < 300;
    console.log(
      `\ntargets: first screen under 1 s (${mBig.toFixed(0)} ms), JS under 300 KB gzipped (${jsKB} KB): ${ok ? "met" : "NOT met"}`,
    );
  } finally {
    await browser.close();
    await srv.stop();
  }
}

await main();
