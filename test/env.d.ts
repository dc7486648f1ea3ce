import type { D1Migration } from "@cloudflare/vitest-pool-workers";
import type { Env as AppBindings } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends AppBindings {
      TEST_MIGRATIONS: D1Migration[];
      /** Test fixtures from disk: `http://fixtures/local/...` is `test/fixtures/...` (see vitest.config.ts). */
      FIXTURES: Fetcher;
    }
  }
}
export {};
