import { defineConfig } from "drizzle-kit";

// Migrations are generated from src/db/schema and applied by wrangler (local and remote) and by the test setup.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/index.ts",
  out: "./migrations",
});
