import { createRoute } from "@hono/zod-openapi";
import { PageQuery, toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { IdNameItem, ImageTag, ImageTagPath, ImageTagsPath, NameBody, SetPathOnly, SetTagPath } from "../schemas/classes";
import { errorResponses, jsonBody, jsonContent, pageOf, security } from "../schemas/common";
import { readableSet, writableSet } from "../services/annotations/sets";
import { imageOfSet } from "../services/annotations/save";
import { setTags } from "../services/annotations/set-views";
import { serviceCtx } from "../services/context";
import { addImageTag, deleteSetTag, listImageTags, removeImageTag, renameSetTag } from "../services/annotations/tags";

export const tagRoutes = createRouter();
const tags = ["tags"];

tagRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/annotation-sets/{set}/images/{image}/tags",
    tags,
    security,
    summary: "An image's tags in a set",
    request: { params: ImageTagsPath, query: PageQuery },
    responses: { 200: jsonContent(pageOf(ImageTag), "Tags"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const q = c.req.valid("query");
    const { set } = await readableSet(ctx, p.set);
    const img = await imageOfSet(ctx, set, p.image);
    const { count, results } = await listImageTags(ctx, set, img, q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);

tagRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/annotation-sets/{set}/images/{image}/tags",
    tags,
    security,
    summary: "Tag an image in a set (lower-cased; 201 new link, 200 already tagged)",
    request: { params: ImageTagsPath, body: jsonBody(NameBody) },
    responses: { 200: jsonContent(ImageTag, "Already tagged"), 201: jsonContent(ImageTag, "Tagged"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set } = await writableSet(ctx, p.set);
    const img = await imageOfSet(ctx, set, p.image);
    const { created, ...tag } = await addImageTag(ctx, set, img, c.req.valid("json").name);
    return c.json(tag, created ? 201 : 200);
  },
);

tagRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/annotation-sets/{set}/images/{image}/tags/{tag_id}",
    tags,
    security,
    summary: "Untag an image (by tag id); 204 whether or not it had the tag",
    request: { params: ImageTagPath },
    responses: { 204: { description: "Untagged" }, ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set } = await writableSet(ctx, p.set);
    const img = await imageOfSet(ctx, set, p.image);
    await removeImageTag(ctx, set, img, p.tag_id);
    return c.body(null, 204);
  },
);

tagRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/annotation-sets/{id}/tags",
    tags,
    security,
    summary: "The distinct tags used in a set",
    request: { params: SetPathOnly },
    responses: { 200: jsonContent(pageOf(IdNameItem), "Tags"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const { set } = await readableSet(ctx, c.req.valid("param").id);
    const results = await setTags(ctx.db, set.id);
    return c.json({ count: results.length, next: null, previous: null, results }, 200);
  },
);

tagRoutes.openapi(
  createRoute({
    method: "put",
    path: "/api/v1/ui/annotation-sets/{id}/tags/{tag_id}",
    tags,
    security,
    summary: "Rename a tag in a set, merging into the tag of that name",
    request: { params: SetTagPath, body: jsonBody(NameBody) },
    responses: { 200: jsonContent(IdNameItem, "The tag the images now have"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set } = await writableSet(ctx, p.id);
    return c.json(await renameSetTag(ctx, set, p.tag_id, c.req.valid("json").name), 200);
  },
);

tagRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/annotation-sets/{id}/tags/{tag_id}",
    tags,
    security,
    summary: "Remove a tag from every image of a set",
    request: { params: SetTagPath },
    responses: { 204: { description: "Removed" }, ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set } = await writableSet(ctx, p.id);
    await deleteSetTag(ctx, set, p.tag_id);
    return c.body(null, 204);
  },
);
