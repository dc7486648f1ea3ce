import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { ApiError } from "../lib/errors";
import { createRouter } from "../lib/router";
import { jsonContent } from "../schemas/common";

export const metaRoutes = createRouter();

metaRoutes.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    tags: ["meta"],
    summary: "Liveness and D1 reachability",
    responses: {
      200: jsonContent(z.object({ status: z.literal("ok") }), "Healthy"),
      503: { description: "A binding failed" },
    },
  }),
  async (c) => {
    try {
      await c.var.db.run(sql`SELECT 1`);
    } catch {
      throw new ApiError("UNAVAILABLE", "D1 is unreachable");
    }
    return c.json({ status: "ok" as const }, 200);
  },
);
