import { createRoute } from "@hono/zod-openapi";
import { PageQuery, toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { GalleryPage, GalleryPath, GalleryQuery, SetImage, SetImagesPath } from "../schemas/annotation-gallery";
import { errorResponses, jsonContent, pageOf, security } from "../schemas/common";
import { annotationGallery, listSetImages } from "../services/annotations/gallery";
import { serviceCtx } from "../services/context";

export const annotationGalleryRoutes = createRouter();
const tags = ["annotations"];

annotationGalleryRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/dataset/{ds}/annotation-set/{set}/image",
    tags,
    security,
    summary: "The annotation tool's gallery: the set's images in Remo's order, paged by cursor",
    description: [
      "Every image of the set's dataset in gallery order: one group after another, by id within a group. `order`",
      "names the first group and with it the sequence (Remo's): `not_annotated` → not_annotated, skipped, annotated;",
      "`skipped` → skipped, not_annotated, annotated; `annotated` → annotated, skipped, not_annotated. `annotated`",
      "is the status `done`; `not_annotated` includes images the set has no row for.",
      "",
      "- no `image_id`: the first `limit` images;",
      "- `image_id` + `direction=next|prev`: the `limit` images after / before that image (it is not included);",
      "  an empty `results` means the end;",
      "- `image_id` alone: a page of `limit` around it (about half before), as Remo opens the tool on an image.",
      "",
      "`next` / `previous` are relative URLs carrying `image_id`, `direction` and `image_status` (the group of the",
      "cursor image when it was listed), so a status changed meanwhile does not move the cursor. Send `image_status`",
      "yourself when stepping from the image being annotated (its status as you showed it). `tracker_id` is",
      "accepted and ignored: Remo kept server-side state under it; this cursor is stateless.",
      "",
      "`count` is the dataset's image count; `not_annotated_count`, `skipped_count`, `annotated_count` come from the",
      "set's counters. Each result is an `AnnotationSetImage` (as `GET /api/v1/ui/annotation-sets/{set}/images/`).",
      "An `image_id` not in the set's dataset, or a set not in dataset `ds`, is a 404.",
    ].join("\n"),
    request: { params: GalleryPath, query: GalleryQuery },
    responses: { 200: jsonContent(GalleryPage, "A page of the gallery"), ...errorResponses },
  }),
  async (c) => {
    const p = c.req.valid("param");
    return c.json(await annotationGallery(serviceCtx(c), c.req.url, p.ds, p.set, c.req.valid("query")), 200);
  },
);

annotationGalleryRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/annotation-sets/{set}/images",
    tags,
    security,
    summary: "The dataset's images by id, each with its status, counts and classes in the set",
    description:
      "Remo's AnnotationSetImageSerializer list, paginated by `limit`/`offset` over the set's dataset's images (by id). Items as the gallery's.",
    request: { params: SetImagesPath, query: PageQuery },
    responses: { 200: jsonContent(pageOf(SetImage), "Images by id"), ...errorResponses },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const { count, results } = await listSetImages(serviceCtx(c), c.req.valid("param").set, q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);
