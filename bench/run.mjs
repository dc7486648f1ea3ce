#!/usr/bin/env node
// `npm run bench [name ...]`: runs bench/*.bench.mjs (all, or those whose name contains an argument), one after
// another, each against its own `wrangler dev`. Each script prints its figures; BENCHMARKS.md records them.
import { readdirSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

const dir = path.dirname(new URL(import.meta.url).pathname);
const wanted = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.mjs"))
  .filter((f) => !wanted.length || wanted.some((w) => f.includes(w)))
  .sort();
if (!scripts.length) {
  console.error("no benchmark matched", wanted.join(" "));
  process.exit(1);
}
let failed = 0;
for (const s of scripts) {
  console.log(`\n=== ${s} ===`);
  const r = spawnSync(process.execPath, [path.join(dir, s)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
