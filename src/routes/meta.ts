import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { storeConfigProblems } from "../dataset-store/lifecycle";
import { ApiError } from "../lib/errors";
import { createRouter } from "../lib/router";
import { jsonContent } from "../schemas/common";

export const metaRoutes = createRouter();

metaRoutes.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    tags: ["meta"],
    summary: "Liveness, D1 reachability and a consistent configuration",
    responses: {
      200: jsonContent(z.object({ status: z.literal("ok") }), "Healthy"),
      503: { description: "A binding failed, or the vars contradict each other (the error names them)" },
    },
  }),
  async (c) => {
    try {
      await c.var.db.run(sql`SELECT 1`);
    } catch {
      throw new ApiError("UNAVAILABLE", "D1 is unreachable");
    }
    const problems = storeConfigProblems(c.env);
    if (problems.length) throw new ApiError("UNAVAILABLE", `The service is misconfigured: ${problems.join(" ")}`);
    return c.json({ status: "ok" as const }, 200);
  },
);
