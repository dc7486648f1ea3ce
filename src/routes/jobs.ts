import { createRoute } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { Job } from "../schemas/export";
import { serviceCtx } from "../services/context";
import { getJob, jobView } from "../services/export/jobs";

export const jobRoutes = createRouter();

jobRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/jobs/{id}",
    tags: ["jobs"],
    security,
    summary: "A background job of the caller: status, progress and, once done, a signed download URL",
    request: { params: IdPath },
    responses: { 200: jsonContent(Job, "The job"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    return c.json(await jobView(c.env, await getJob(ctx, c.req.valid("param").id)), 200);
  },
);
