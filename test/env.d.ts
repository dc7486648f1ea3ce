import type { D1Migration } from "@cloudflare/vitest-pool-workers";
import type { Env as AppBindings } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends AppBindings {
      TEST_MIGRATIONS: D1Migration[];
      /** Test fixtures from disk: `http://fixtures/shared/...` (../shared/fixtures) or `http://fixtures/local/...`. */
      FIXTURES: Fetcher;
    }
  }
}
export {};
