#!/usr/bin/env node
// `npm start`: make sure a local signing secret exists, apply D1 migrations locally, start the local file service,
// then serve the whole API (D1, R2, KV and Queues simulated by Miniflare, state in .wrangler/) on PORT or 8787.
import { spawnSync, spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { startLocalFiles } from "./local-files.mjs";

const port = process.env.PORT || "8787";
const wrangler = ["node_modules/.bin/wrangler"];

// The local file service's address and secret change on every start; they live in .dev.vars only while it runs.
const SERVICE_VARS = ["LOCAL_FILES_URL", "LOCAL_FILES_SECRET"];
const readVars = () =>
  (existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "")
    .split("\n")
    .filter((l) => l && !SERVICE_VARS.some((k) => l.startsWith(`${k}=`)))
    .join("\n");
const writeVars = (/** @type {string} */ text) => {
  // Secrets: created owner-only (a chmod after the write would leave a moment where others can read them).
  writeFileSync(".dev.vars", text ? text + "\n" : "", { mode: 0o600 });
  chmodSync(".dev.vars", 0o600); // an older file keeps its mode through writeFileSync
};

let vars = readVars();
const wanted = {
  SIGNING_SECRET: randomBytes(32).toString("hex"),
  ALLOW_SIGNUP: "true",
  INGEST_ALLOW_PRIVATE_NETWORKS: "false",
};
const missing = Object.entries(wanted).filter(([k]) => !new RegExp(`^${k}=`, "m").test(vars));
if (missing.length) {
  vars = [vars, ...missing.map(([k, v]) => `${k}=${v}`)].filter(Boolean).join("\n");
  console.log(`.dev.vars: added ${missing.map(([k]) => k).join(", ")} (local only, not committed)`);
}

// Remo's local_files are absolute paths on this machine: the Worker reads them through this service, which serves
// only files under LOCAL_FILES_ROOT (default: the home directory; "off": no disk access at all).
// Only while the server answers this machine alone: bound to another address, anyone who can sign up could read
// the root through local_files, so the service stays off unless LOCAL_FILES_ROOT says otherwise explicitly.
const host = process.env.HOST || "127.0.0.1";
const loopback = ["127.0.0.1", "localhost", "::1"].includes(host);
const filesRoot = process.env.LOCAL_FILES_ROOT || (loopback ? homedir() : "off");
if (!loopback && !process.env.LOCAL_FILES_ROOT)
  console.log(
    `local_files: off, since HOST=${host} reaches beyond this machine (set LOCAL_FILES_ROOT to share a folder)`,
  );
let serviceVars = "";
if (filesRoot !== "off") {
  const secret = randomBytes(32).toString("hex");
  const { origin } = await startLocalFiles({ root: filesRoot, secret });
  serviceVars = `LOCAL_FILES_URL=${origin}\nLOCAL_FILES_SECRET=${secret}`;
  console.log(
    `local_files: absolute paths under ${filesRoot} are readable (LOCAL_FILES_ROOT changes it, "off" disables)`,
  );
}
writeVars([vars, serviceVars].filter(Boolean).join("\n"));
const forgetService = () => {
  try {
    writeVars(readVars());
  } catch {
    // best effort: the next start replaces them anyway
  }
};

const migrate = spawnSync(wrangler[0], ["d1", "migrations", "apply", "DB", "--local"], {
  stdio: "inherit",
  env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" }, // no prompt, no telemetry
});
if (migrate.status !== 0) {
  forgetService();
  process.exit(migrate.status ?? 1);
}

const dev = spawn(wrangler[0], ["dev", "--port", port, "--ip", host, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
dev.on("exit", (code) => {
  forgetService();
  process.exit(code ?? 0);
});
