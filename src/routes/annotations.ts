import { createRoute } from "@hono/zod-openapi";
import type { z } from "@hono/zod-openapi";
import { createRouter } from "../lib/router";
import { AnnotationRead, LegacyImagePath, SaveAnnotationBody, SavedAnnotation, SetImagePath, StatusBody } from "../schemas/annotations";
import { errorResponses, jsonBody, jsonContent, security } from "../schemas/common";
import { clearImageAnnotation, legacyTarget, saveImageAnnotation, setImageStatus, setImageTarget, statusName, type ImageRef } from "../services/annotations/save";
import { serviceCtx } from "../services/context";
import { annotationInfo, type AnnotationInfoResult } from "../services/annotations/image-annotations";

export const annotationRoutes = createRouter();
const tags = ["annotations"];
const EDIT = "Only dataset owner can edit annotation set.";

function saved(set: { id: number }, img: ImageRef, r: AnnotationInfoResult) {
  return {
    id: r.annotation?.id ?? 0,
    image: img.id,
    annotation_set: set.id,
    created_at: r.annotation?.created_at ?? "",
    updated_at: r.annotation?.updated_at ?? "",
    status: statusName(r.annotation?.status),
    annotation_info: r.info,
  };
}

function saveInput(b: z.infer<typeof SaveAnnotationBody>) {
  return {
    objects: b.objects?.map((o) => ({ name: o.name, kind: o.kind, coordinates: o.coordinates, classes: o.classes })),
    classes: b.classes,
    status: b.status,
    skipNewClasses: b.skip_new_classes ?? false,
  };
}

annotationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/dataset/{ds}/annotation-set/{set}/image/{img}/save-annotation",
    tags,
    security,
    summary: "Replace an image's objects/classes in a set (Remo's save-annotation, used by the SDK)",
    request: { params: LegacyImagePath, body: jsonBody(SaveAnnotationBody) },
    responses: { 200: jsonContent(SavedAnnotation, "The saved annotation"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set, img } = await legacyTarget(ctx, p.ds, p.set, p.img, true, EDIT);
    return c.json(saved(set, img, await saveImageAnnotation(ctx, set, img, saveInput(c.req.valid("json")))), 200);
  },
);

annotationRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/dataset/{ds}/annotation-set/{set}/image/{img}/annotation",
    tags,
    security,
    summary: "An image's annotation in a set (Remo's legacy read, used by the SDK)",
    request: { params: LegacyImagePath },
    responses: { 200: jsonContent(AnnotationRead, "annotation_info and status"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set, img } = await legacyTarget(ctx, p.ds, p.set, p.img, false, EDIT);
    const { annotation, info } = await annotationInfo(ctx.db, set.id, img.id);
    return c.json({ error: false, annotation_info: info, status: statusName(annotation?.status) }, 200);
  },
);

annotationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/annotation-sets/{set}/images/{img}/status",
    tags,
    security,
    summary: "Set an image's status in a set (unknown values become not_annotated)",
    request: { params: SetImagePath, body: jsonBody(StatusBody) },
    responses: { 200: jsonContent(StatusBody, "The status now stored"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set, img } = await setImageTarget(ctx, p.set, p.img, true, EDIT);
    return c.json({ status: await setImageStatus(ctx, set, img, c.req.valid("json").status) }, 200);
  },
);

annotationRoutes.openapi(
  createRoute({
    method: "put",
    path: "/api/v1/ui/annotation-sets/{set}/images/{img}/annotations",
    tags,
    security,
    summary: "Native: replace an image's annotation in a set (save-annotation's body)",
    request: { params: SetImagePath, body: jsonBody(SaveAnnotationBody) },
    responses: { 200: jsonContent(SavedAnnotation, "The saved annotation"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set, img } = await setImageTarget(ctx, p.set, p.img, true, EDIT);
    return c.json(saved(set, img, await saveImageAnnotation(ctx, set, img, saveInput(c.req.valid("json")))), 200);
  },
);

annotationRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/annotation-sets/{set}/images/{img}/annotations",
    tags,
    security,
    summary: "Clear an image's objects and classes in a set (tags and status stay)",
    request: { params: SetImagePath },
    responses: { 204: { description: "Cleared" }, ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const p = c.req.valid("param");
    const { set, img } = await setImageTarget(ctx, p.set, p.img, true, EDIT);
    await clearImageAnnotation(ctx, set, img);
    return c.body(null, 204);
  },
);
