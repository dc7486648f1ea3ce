import { defineConfig } from "vitest/config";

/**
 * The pages in a real Chromium (Debian's `chromium`, driven by playwright-core; no browser download), against the
 * whole Worker served by `wrangler dev` with local D1/R2/KV/Queues. `npm run test:browser`; `.ci/run` runs it after
 * the Worker tests. One server for every file (test/browser/setup/server.ts), files one after another.
 */
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    globalSetup: ["./test/browser/setup/server.ts"],
    fileParallelism: false,
    // Generous bounds, not assertions: cold tiles and previews render on first request, slowly on a loaded 2-core machine.
    testTimeout: 240_000,
    hookTimeout: 180_000,
  },
});
