// Starts `wrangler dev` (the same local stack as `npm start`) on its own port and state folder, for benchmarks.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");

/**
 * @param {{ port?: number, persistDir?: string, fresh?: boolean, vars?: Record<string,string>, script?: string, beforeStart?: (d1File: string) => Promise<void> | void }} opts
 * `beforeStart` runs after migrations, before the server starts: the place to seed the local D1 SQLite file directly.
 * `script` replaces wrangler.toml's `main` (same bindings), e.g. a benchmark-only Worker.
 */
export async function startServer(opts = {}) {
  const port = opts.port ?? 8790;
  const persistDir = opts.persistDir ?? path.join(ROOT, "bench/.out/state-" + port);
  if (opts.fresh !== false) rmSync(persistDir, { recursive: true, force: true });
  mkdirSync(persistDir, { recursive: true });
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" };
  const m = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistDir], { cwd: ROOT, env, encoding: "utf8" });
  if (m.status !== 0) throw new Error("migrations failed: " + m.stderr + m.stdout);
  if (opts.beforeStart) await opts.beforeStart(d1File(persistDir));
  const varArgs = Object.entries({ SIGNING_SECRET: "bench-secret", ALLOW_SIGNUP: "true", INGEST_ALLOW_PRIVATE_NETWORKS: "true", ...(opts.vars ?? {}) }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child = spawn(WRANGLER, ["dev", ...(opts.script ? [opts.script] : []), "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir, ...varArgs], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  // BENCH_SERVER_LOG=<file> keeps wrangler's whole output (console.log from the Worker included) for a profile.
  const logFile = process.env.BENCH_SERVER_LOG;
  if (logFile) writeFileSync(logFile, "");
  const keep = (d) => {
    log += d;
    if (logFile) appendFileSync(logFile, d);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      const r = await fetch(base + "/healthz");
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) throw new Error("server did not start:\n" + log.slice(-3000));
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    base,
    persistDir,
    log: () => log,
    /** Peak resident memory (VmHWM) of the workerd process serving the Worker, in MiB. */
    workerdPeakMiB: () => workerdMemory("VmHWM"),
    workerdRssMiB: () => workerdMemory("VmRSS"),
    workerdPid: () => findWorkerd(child.pid),
    async stop() {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await new Promise((r) => setTimeout(r, 500));
    },
  };

  function workerdMemory(field) {
    const pid = findWorkerd(child.pid);
    if (!pid) return NaN;
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  }
}

/**
 * The workerd process that runs the Worker, among those started (transitively) by the wrangler process `rootPid`.
 * wrangler dev starts two: a proxy on the public port and the runtime; the runtime is the one with an inspector.
 */
function findWorkerd(rootPid) {
  const children = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(d), cmd });
    } catch {}
  }
  const queue = [rootPid];
  let fallback = null;
  while (queue.length) {
    const p = queue.shift();
    for (const c of children.get(p) ?? []) {
      if (c.cmd.includes("workerd") && c.cmd.includes("serve")) {
        if (c.cmd.includes("--inspector-addr")) return c.pid;
        fallback ??= c.pid;
      }
      queue.push(c.pid);
    }
  }
  return fallback;
}

/** The local D1 SQLite file under a wrangler --persist-to folder. */
export function d1File(persistDir) {
  const dir = path.join(persistDir, "v3/d1/miniflare-D1DatabaseObject");
  const files = readdirSync(dir).filter((f) => f.endsWith(".sqlite")).map((f) => path.join(dir, f));
  files.sort((a, b) => statSync(b).size - statSync(a).size);
  if (!files.length) throw new Error("no local D1 database under " + dir);
  return files[0];
}

/** Signs up a fresh user and returns its key. */
export async function signupKey(base, email = `bench${Date.now()}@example.com`) {
  const r = await fetch(base + "/api/signup/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "bench-password" }) });
  if (!r.ok) throw new Error("signup failed " + r.status + " " + (await r.text()));
  return (await r.json()).key;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

/** Times `fn` n times; returns { median, p99, min, max } in ms. */
export async function timeIt(n, fn) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn(i);
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { n, median: percentile(t, 50), p99: percentile(t, 99), min: t[0], max: t[t.length - 1] };
}

export function machine() {
  const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown cpu";
  const mem = Math.round(Number(readFileSync("/proc/meminfo", "utf8").match(/MemTotal:\s+(\d+)/)[1]) / 1024 / 1024);
  return `${cpu}, ${process.env.NPROC ?? ""}${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores, ${mem} GiB, Node ${process.version}`;
}
