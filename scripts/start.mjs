#!/usr/bin/env node
// `npm start`: make sure a local signing secret exists, apply D1 migrations locally, then serve the whole API
// (D1, R2, KV and Queues simulated by Miniflare, state in .wrangler/) on PORT or 8787.
import { spawnSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const port = process.env.PORT || "8787";
const wrangler = ["node_modules/.bin/wrangler"];

const vars = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "";
const wanted = {
  SIGNING_SECRET: randomBytes(32).toString("hex"),
  ALLOW_SIGNUP: "true",
  INGEST_ALLOW_PRIVATE_NETWORKS: "false",
};
const missing = Object.entries(wanted).filter(([k]) => !new RegExp(`^${k}=`, "m").test(vars));
if (missing.length) {
  writeFileSync(".dev.vars", vars + (vars && !vars.endsWith("\n") ? "\n" : "") + missing.map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  console.log(`.dev.vars: added ${missing.map(([k]) => k).join(", ")} (local only, not committed)`);
}

const migrate = spawnSync(wrangler[0], ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, // no prompt, no telemetry
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn(wrangler[0], ["dev", "--port", port, "--ip", process.env.HOST || "127.0.0.1", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => process.exit(code ?? 0));
