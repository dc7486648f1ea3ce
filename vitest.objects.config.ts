import { defineConfig } from "vitest/config";
import { workerTestConfig } from "./vitest.shared";

/**
 * The same API tests with every new dataset created in its own DatasetStore (issue 13): what a deployment with
 * DATASET_STORE_NEW = "object" serves must be what the D1 suite checks.
 */
export default defineConfig(() =>
  workerTestConfig({ newDatasets: "object", include: (process.env.OBJECT_TESTS ?? "test/**/*.test.ts").split(",") }),
);
