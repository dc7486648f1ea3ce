import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { call, uploadFixtureDataset } from "./fixture-seed.mjs";

/**
 * Global setup of the browser tests: serves the Worker with `wrangler dev` on a free port with its own fresh state
 * (a temporary --persist-to), then seeds what every test reads, through the public API as a user would: two users,
 * and the owner's private dataset made from Remo's fixture photos, their CSV boxes (40) and tags.
 */
export interface BrowserServer {
  baseUrl: string;
  owner: { email: string; password: string; key: string; id: number };
  other: { email: string; password: string; key: string; id: number };
  datasetId: number;
  setId: number;
  screenshots: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    server: BrowserServer;
  }
}

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");
const wrangler = path.join(root, "node_modules/.bin/wrangler");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitFor(url: string, child: ChildProcess, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

export default async function setup(project: TestProject) {
  const state = mkdtempSync(path.join(tmpdir(), "remo-browser-"));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };

  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);

  const vars = ["SIGNING_SECRET:browser-test-secret", "ALLOW_SIGNUP:true", "INGEST_ALLOW_PRIVATE_NETWORKS:false"];
  const child = spawn(
    wrangler,
    [
      "dev",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--show-interactive-dev-session=false",
      ...vars.flatMap((v) => ["--var", v]),
    ],
    { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  try {
    await waitFor(`${baseUrl}/healthz`, child, 120_000);

    const password = "correct horse battery";
    const signup = async (name: string) => {
      const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
      const u = await call(baseUrl, "POST", "/api/signup/", null, { email, password, name });
      return { email, password, key: u.key as string, id: u.id as number };
    };
    const owner = await signup("Olive");
    const other = await signup("Oscar");

    const datasetId = await uploadFixtureDataset(baseUrl, owner.key, "Open Images sample");
    const sets = await call(baseUrl, "GET", `/api/v1/ui/datasets/${datasetId}/annotation-sets/`, owner.key);

    const screenshots = path.join(root, "test/browser/.out/screenshots");
    // Not emptied first: runs of single files (and runs side by side) each overwrite only their own names.
    mkdirSync(screenshots, { recursive: true });
    console.log(`browser tests: ${baseUrl}; screenshots in ${screenshots}`);

    project.provide("server", { baseUrl, owner, other, datasetId, setId: sets.results[0].id, screenshots });
  } catch (e) {
    stop();
    throw new Error(`${(e as Error).message}\n--- wrangler dev ---\n${log.slice(-4000)}`);
  }

  return async () => {
    // The server's own log, for a failed run: what the Worker was doing (queue jobs, slow renders, errors).
    writeFileSync(path.join(root, "test/browser/.out/wrangler.log"), log);
    stop();
    await new Promise((r) => setTimeout(r, 500));
    rmSync(state, { recursive: true, force: true });
  };
}
