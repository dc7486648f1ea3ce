#!/usr/bin/env node
// Builds the web pages into public/ (served by Workers static assets at /assets/...): one ES module per page from
// pages/src/entries/, shared chunks split out, CSS bundled, and the vendored files the pages load (Swagger UI for
// /docs, OpenSeadragon's button images). Nothing is fetched from another host at run time.
// Run by `npm start`, `npm test`, `npm run test:browser` and `npm run deploy` before wrangler; `--watch` rebuilds.
import { build, context } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const final = path.join(root, "public/assets");
const entriesDir = path.join(root, "pages/src/entries");
const watch = process.argv.includes("--watch");
const quiet = process.argv.includes("--quiet");

// A one-off build writes beside public/assets and swaps it in at the end, so a server already running (wrangler dev,
// a browser test) never sees a half-written or missing folder; --watch rebuilds in place.
const out = watch ? final : path.join(root, `public/.assets-${process.pid}`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const entryPoints = Object.fromEntries(
  readdirSync(entriesDir)
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => [f.replace(/\.tsx?$/, ""), path.join(entriesDir, f)]),
);
entryPoints.app = path.join(root, "pages/src/styles.css");

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints,
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "media/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: quiet ? "warning" : "info",
};

// Vendored as shipped: Swagger UI's prebuilt bundle (for /docs) and OpenSeadragon's navigation button images.
const vendor = [
  ["node_modules/swagger-ui-dist/swagger-ui-bundle.js", "swagger/swagger-ui-bundle.js"],
  ["node_modules/swagger-ui-dist/swagger-ui.css", "swagger/swagger-ui.css"],
  ["node_modules/openseadragon/build/openseadragon/images", "osd-images"],
];
for (const [from, to] of vendor) cpSync(path.join(root, from), path.join(out, to), { recursive: true });

if (watch) {
  const ctx = await context(options);
  await ctx.watch();
  console.log("pages: watching pages/src");
} else {
  const result = await build(options);
  // Every page links /assets/<entry>.css (its own styles, from the CSS its entry imports); an entry without any gets
  // an empty file, so no page requests a stylesheet that is not there.
  for (const entry of Object.keys(entryPoints)) {
    const css = path.join(out, `${entry}.css`);
    if (!existsSync(css)) writeFileSync(css, "");
  }
  const old = path.join(root, `public/.assets-old-${process.pid}`);
  if (existsSync(final)) renameSync(final, old);
  renameSync(out, final);
  rmSync(old, { recursive: true, force: true });
  if (!quiet) {
    // What each page loads: its entry plus the chunks it imports, gzipped (the budget is on the gzipped size).
    const outputs = result.metafile.outputs;
    const closure = (file, seen = new Set()) => {
      if (seen.has(file)) return seen;
      seen.add(file);
      for (const imp of outputs[file]?.imports ?? []) if (imp.kind === "import-statement") closure(imp.path, seen);
      return seen;
    };
    const gz = (f) => gzipSync(readFileSync(path.resolve(root, f).replace(out, final))).length;
    for (const [file, meta] of Object.entries(outputs)) {
      if (!meta.entryPoint || !file.endsWith(".js")) continue;
      const files = [...closure(file)];
      const total = files.reduce((a, f) => a + gz(f), 0);
      console.log(
        `pages: ${path.basename(file).padEnd(16)} ${(total / 1024).toFixed(1)} KB gzipped (${files.length} files)`,
      );
    }
  }
}
