#!/usr/bin/env node
// Export at scale: a set of 1,000 images x 10 boxes (10,000) and 100,000 images x 10 boxes (1,000,000), exported
// as COCO and CSV through the streaming GET and through the export job (queue consumer -> R2 multipart). Each
// export runs on a freshly started `wrangler dev` over the same seeded state, so each peak is that export's alone.
// Two memory figures: the workerd process's VmHWM (which also holds Miniflare's local D1 simulator), and the
// Worker isolate's V8 heap, sampled every 100 ms through the inspector (what the 128 MB limit applies to).
// Prints a markdown table for BENCHMARKS.md. EXPORT_BENCH_SIZES=1000,100000 (images) to choose sizes.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { machine, startServer } from "./lib/server.mjs";
import { seedLargeSet } from "./lib/seed.mjs";

const PORT = Number(process.env.PORT ?? 8793);
const INSPECTOR_PORT = PORT + 500;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");
const WebSocket = createRequire(import.meta.url)("ws");
const SIZES = (process.env.EXPORT_BENCH_SIZES ?? "1000,100000").split(",").map(Number);
const PER_IMAGE = 10;

/** `wrangler dev` on the seeded state with its inspector on a known port (startServer has no such option). */
async function startInspected(persistDir) {
  const args = [
    "dev",
    "--port",
    String(PORT),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(INSPECTOR_PORT),
    "--persist-to",
    persistDir,
  ];
  for (const v of ["SIGNING_SECRET:bench-secret", "ALLOW_SIGNUP:true"]) args.push("--var", v);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
    stdio: "ignore",
    detached: true,
  });
  const base = `http://127.0.0.1:${PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await fetch(base + "/healthz")).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    base,
    workerdPid: () => runtimeWorkerd(child.pid),
    stop: async () => {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await new Promise((r) => setTimeout(r, 1000));
    },
  };
}

/**
 * The workerd that runs the Worker and its local bindings. wrangler dev starts two: a proxy on the public port and
 * the runtime proper, which is the one with an inspector address.
 */
function runtimeWorkerd(root) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {}
  }
  const queue = [root];
  while (queue.length) {
    for (const pid of kids.get(queue.shift()) ?? []) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (cmd.includes("workerd") && cmd.includes("--inspector-addr")) return pid;
      } catch {}
      queue.push(pid);
    }
  }
  return null;
}

const procMiB = (pid, field) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;

/** Samples the Worker isolate's heap (Runtime.getHeapUsage) every 100 ms until stopped. */
async function heapSampler() {
  const ws = new WebSocket(`ws://127.0.0.1:${INSPECTOR_PORT}/ws`);
  await new Promise((res, rej) => (ws.once("open", res), ws.once("error", rej)));
  let id = 0;
  let used = 0;
  let total = 0;
  ws.on("message", (m) => {
    const r = JSON.parse(m).result;
    if (r?.usedSize !== undefined) ((used = Math.max(used, r.usedSize)), (total = Math.max(total, r.totalSize)));
  });
  const timer = setInterval(() => ws.send(JSON.stringify({ id: ++id, method: "Runtime.getHeapUsage" })), 100);
  return async () => {
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(timer);
    ws.close();
    return { usedMiB: used / 2 ** 20, totalMiB: total / 2 ** 20 };
  };
}

async function drain(res) {
  // Count bytes as they arrive; nothing is kept, so the client never holds the export.
  let bytes = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.length;
  }
}

async function viaGet(base, key, setId, format) {
  const t = performance.now();
  const res = await fetch(`${base}/api/v1/ui/annotation-sets/${setId}/export/?annotation_format=${format}`, {
    headers: { authorization: `Token ${key}` },
  });
  if (!res.ok) throw new Error(`GET ${format}: ${res.status} ${await res.text()}`);
  const bytes = await drain(res);
  return { ms: performance.now() - t, bytes };
}

async function viaJob(base, key, setId, format) {
  const t = performance.now();
  const headers = { authorization: `Token ${key}`, "content-type": "application/json" };
  const r = await fetch(`${base}/api/v1/ui/annotation-sets/${setId}/exports/`, {
    method: "POST",
    headers,
    body: JSON.stringify({ annotation_format: format }),
  });
  if (r.status !== 202) throw new Error(`POST exports: ${r.status} ${await r.text()}`);
  const { job } = await r.json();
  for (;;) {
    await new Promise((res) => setTimeout(res, 250));
    // A poll that wrangler dev's proxy drops (seen under load) is retried rather than awaited forever.
    const j = await fetch(`${base}/api/v1/jobs/${job.id}`, { headers, signal: AbortSignal.timeout(5000) })
      .then((res) => res.json())
      .catch(() => ({ status: "polling" }));
    if (j.status === "failed") throw new Error(`job failed: ${j.error}`);
    // The file's bytes as R2 holds them (the tests check the download matches the GET, byte for byte).
    if (j.status === "done") return { ms: performance.now() - t, bytes: j.size };
  }
}

const rows = [];
for (const images of SIZES) {
  const persistDir = path.join(ROOT, `bench/.out/export-${images}`);
  let seeded;
  const t0 = performance.now();
  const seeding = await startServer({
    port: PORT,
    persistDir,
    beforeStart: (file) => void (seeded = seedLargeSet(file, { images, objectsPerImage: PER_IMAGE })),
  });
  await seeding.stop();
  console.error(
    `seeded ${images} images / ${seeded.objects} boxes in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const format of ["coco", "csv"]) {
    for (const [how, run] of [
      ["GET", viaGet],
      ["job", viaJob],
    ]) {
      const server = await startInspected(persistDir);
      try {
        const pid = server.workerdPid();
        const idle = procMiB(pid, "VmRSS");
        const stopSampling = await heapSampler();
        const r = await run(server.base, seeded.key, seeded.setId, format);
        const heap = await stopSampling();
        const peak = procMiB(pid, "VmHWM");
        rows.push({
          images,
          boxes: seeded.objects,
          format,
          how,
          s: r.ms / 1000,
          mib: r.bytes / 2 ** 20,
          idle,
          peak,
          ...heap,
        });
        console.error(JSON.stringify(rows[rows.length - 1]));
      } finally {
        await server.stop();
      }
    }
  }
}

console.log(`\nMachine: ${machine()}\n`);
console.log(
  "| images | boxes | format | path | wall time | output | Worker heap peak (used / reserved) | workerd idle RSS | workerd peak (VmHWM) |",
);
console.log("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  console.log(
    `| ${r.images.toLocaleString("en")} | ${r.boxes.toLocaleString("en")} | ${r.format} | ${r.how} | ${r.s.toFixed(1)} s | ${r.mib.toFixed(1)} MiB | ` +
      `${r.usedMiB.toFixed(0)} / ${r.totalMiB.toFixed(0)} MiB | ${r.idle.toFixed(0)} MiB | ${r.peak.toFixed(0)} MiB |`,
  );
}
for (const format of ["coco", "csv"]) {
  for (const how of ["GET", "job"]) {
    const [small, big] = [SIZES[0], SIZES[SIZES.length - 1]].map((n) =>
      rows.find((r) => r.images === n && r.format === format && r.how === how),
    );
    if (small && big && small !== big) {
      console.log(
        `- ${format} via ${how}: ${big.boxes.toLocaleString("en")} boxes in ${big.s.toFixed(1)} s; Worker heap peak ${(big.usedMiB / small.usedMiB).toFixed(2)}x, ` +
          `workerd VmHWM ${(big.peak / small.peak).toFixed(2)}x the ${small.boxes.toLocaleString("en")}-box figure`,
      );
    }
  }
}
