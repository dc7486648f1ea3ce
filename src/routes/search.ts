import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../lib/router";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { GlobalSearchQuery } from "../schemas/images";
import { serviceCtx } from "../services/context";
import { globalSearch } from "../services/search/views";

export const searchRoutes = createRouter();

const Result = z.object({
  image_id: z.number().int(),
  dataset_id: z.number().int(),
  annotation_set_id: z.number().int().nullable(),
  name: z.string(),
  preview: z.string(),
  dimensions: z.array(z.number().int()),
  annotations: z.object({
    coordinates: z.array(z.array(z.object({ x: z.number(), y: z.number() }))),
    object_classes: z.array(z.array(z.string())),
    classes: z.array(z.string()),
    tags: z.array(z.string()),
  }),
});

searchRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/search",
    tags: ["search"],
    security,
    summary: "Legacy global search: one result per matching (image, set), over your and public datasets",
    request: { query: GlobalSearchQuery },
    responses: {
      200: jsonContent(z.object({ count: z.number().int(), next: z.string().nullable(), previous: z.string().nullable(), results: z.array(Result) }), "Matches"),
      ...errorResponses,
    },
  }),
  async (c) => c.json(await globalSearch(serviceCtx(c), c.req.valid("query"), c.req.url), 200),
);
