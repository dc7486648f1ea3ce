import { createRoute, z } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { PageQuery, toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { errorResponses, jsonContent, pageOf, security } from "../schemas/common";
import { DatasetImagePath, ImageDetail, SdkImage, SdkImagesQuery, ShortImage } from "../schemas/images";
import { serviceCtx } from "../services/context";
import { datasetImageDetail, deleteImage, listDatasetImagesShort, sdkImageById, sdkImagesPage, sdkImagesStream } from "../services/images/dataset-images";

export const datasetImageRoutes = createRouter();
const tags = ["images"];

datasetImageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/datasets/{id}/images",
    tags,
    security,
    summary: "A dataset's images (id, name, thumbnail, annotates_count)",
    request: { params: IdPath, query: PageQuery },
    responses: { 200: jsonContent(pageOf(ShortImage), "Images by id"), ...errorResponses },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const { count, results } = await listDatasetImagesShort(serviceCtx(c), c.req.valid("param").id, q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);

for (const path of ["/api/v1/ui/datasets/{id}/images/{image_id}", "/api/v1/ui/datasets/{id}/images/{image_id}/annotations"]) {
  datasetImageRoutes.openapi(
    createRoute({
      method: "get",
      path,
      tags,
      security,
      summary: "One image with its annotations in every set of the dataset",
      request: { params: DatasetImagePath },
      responses: { 200: jsonContent(ImageDetail, "The image"), ...errorResponses },
    }),
    async (c) => {
      const p = c.req.valid("param");
      return c.json(await datasetImageDetail(serviceCtx(c), p.id, p.image_id), 200);
    },
  );
}

datasetImageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/sdk/datasets/{id}/images",
    tags,
    security,
    summary: "The SDK's image list: paginated with `limit`, else every image (streamed)",
    request: { params: IdPath, query: SdkImagesQuery },
    responses: { 200: jsonContent(z.object({ count: z.number().int(), next: z.string().nullable().optional(), previous: z.string().nullable().optional(), results: z.array(SdkImage) }), "Images"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const id = c.req.valid("param").id;
    const q = c.req.valid("query");
    if (q.limit === undefined) {
      const body = await sdkImagesStream(ctx, id);
      return c.body(body, 200, { "content-type": "application/json; charset=utf-8" }) as never;
    }
    const page = { limit: q.limit, offset: q.offset };
    const { count, results } = await sdkImagesPage(ctx, id, page);
    return c.json(toPage(c.req.url, page, count, results), 200);
  },
);

datasetImageRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/sdk/images/{id}",
    tags,
    security,
    summary: "One image as the SDK reads it",
    request: { params: IdPath },
    responses: { 200: jsonContent(SdkImage, "The image"), ...errorResponses },
  }),
  async (c) => c.json(await sdkImageById(serviceCtx(c), c.req.valid("param").id), 200),
);

datasetImageRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/images/{id}",
    tags,
    security,
    summary: "Native: delete an image and its annotations (owner only)",
    request: { params: IdPath },
    responses: { 204: { description: "Deleted" }, ...errorResponses },
  }),
  async (c) => {
    await deleteImage(serviceCtx(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);
