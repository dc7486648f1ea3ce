import path from "node:path";
import { readFile } from "node:fs/promises";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import type { ViteUserConfig } from "vitest/config";
import { startTestLocalFiles } from "./test/setup/local-files-root.mjs";

const root = path.dirname(new URL(import.meta.url).pathname);
const FIXTURE_DIRS: Record<string, string> = {
  // http://fixtures/local/x → test/fixtures/x (the project never reads outside itself: a plain clone is complete)
  local: path.resolve(root, "test/fixtures"),
};

/**
 * The Worker test configuration (vitest.config.ts), and its variant that creates every new dataset in its own
 * DatasetStore (vitest.objects.config.ts): `newDatasets` is DATASET_STORE_NEW, `include` the test files to run.
 */
export async function workerTestConfig(opts: { newDatasets: "d1" | "object"; include: string[] }): Promise<ViteUserConfig> {
  const migrations = await readD1Migrations(path.join(root, "migrations"));
  const localFiles = await startTestLocalFiles(path.join(root, "test/fixtures/remo-object-detection"));
  return {
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            SIGNING_SECRET: "test-signing-secret",
            ALLOW_SIGNUP: "true",
            INGEST_ALLOW_PRIVATE_NETWORKS: "false",
            // Every test runs with routing on, so datasets still in D1 are checked to be served as before.
            DATASET_STORE_ROUTING: "on",
            DATASET_STORE_NEW: opts.newDatasets,
            // Tests deliver `prune-dataset-d1` themselves: the queued one waits past the end of the run.
            DATASET_STORE_PRUNE_AFTER_S: "43200",
            ...localFiles,
          },
          // Binary fixtures reach tests inside workerd through this binding (the config runs in Node).
          serviceBindings: {
            async FIXTURES(request: Request) {
              const url = new URL(request.url);
              const [, dir, ...rest] = decodeURIComponent(url.pathname).split("/");
              const base = FIXTURE_DIRS[dir];
              const file = base && path.resolve(base, rest.join("/"));
              if (!base || !file.startsWith(base + path.sep)) return new Response("bad fixture path", { status: 400 });
              try {
                return new Response(await readFile(file));
              } catch {
                return new Response(`no fixture ${url.pathname}`, { status: 404 });
              }
            },
          },
        },
      }),
    ],
    test: {
      include: opts.include,
      exclude: ["test/browser/**", "node_modules/**"],
      setupFiles: ["./test/setup/apply-migrations.ts"],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
}
