import { defineConfig } from "vitest/config";
import { workerTestConfig } from "./vitest.shared";

export default defineConfig(() => workerTestConfig({ newDatasets: "d1", include: ["test/**/*.test.ts", "src/**/*.test.ts"] }));
