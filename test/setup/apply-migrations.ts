import { applyD1Migrations, env } from "cloudflare:test";
import { afterEach } from "vitest";
import { forgetMovedRoutes } from "../../src/dataset-store/forward";

// Idempotent: applied migrations are recorded in d1_migrations, so running per test file is cheap.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

// Storage starts empty in each test file, so dataset and image ids come round again; the Worker's per-isolate cache of
// "this id is served by that DatasetStore" (true for an id's whole life in production) must start empty too.
afterEach(forgetMovedRoutes);
