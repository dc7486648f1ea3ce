import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../lib/errors";
import { IdPath } from "../lib/params";
import { toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { parseTask, TASK_NAMES, taskName, type TaskType } from "../lib/task";
import {
  CreatedSet,
  CreateSetBody,
  IdName,
  Insights,
  InsightsQuery,
  LegacyCreateSetBody,
  RenameSetBody,
  SetDetail,
  SetListItem,
  SetListQuery,
  SetPath,
} from "../schemas/annotation-sets";
import { errorResponses, jsonBody, jsonContent, pageOf, security } from "../schemas/common";
import { createLegacySet, createSetForUser, deleteSet, readableSet, renameSet } from "../services/annotations/sets";
import { listSetsWithStatistics, serializeSetDetail, setClasses, setInsights } from "../services/annotations/set-views";
import { serviceCtx } from "../services/context";

export const annotationSetRoutes = createRouter();
const tags = ["annotation sets"];

/** Remo's task check and its message. */
function taskOr400(input: unknown, field: string): TaskType {
  const t = parseTask(input);
  if (!t)
    throw new ApiError("BAD_REQUEST", `Annotation task '${String(input)}' not recognized. Try one of this: ${TASK_NAMES.join(", ")}`, {
      issues: [{ path: field, message: "unknown task" }],
    });
  return t;
}

annotationSetRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/annotation-sets",
    tags,
    security,
    summary: "Create an annotation set (dataset owner only)",
    request: { body: jsonBody(CreateSetBody) },
    responses: { 201: jsonContent(CreatedSet, "The new set"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const b = c.req.valid("json");
    const task = taskOr400(b.annotation_task, "annotation_task");
    const set = await createSetForUser(ctx, { datasetId: b.dataset_id, name: b.name, task, classes: b.classes });
    const classes = (await setClasses(ctx.db, [set.id])).get(set.id) ?? [];
    return c.json({ id: set.id, name: set.name, task: taskName(task), dataset_id: set.datasetId, classes: classes.map((x) => ({ id: x.id, name: x.name })) }, 201);
  },
);

annotationSetRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/annotation-set",
    tags,
    security,
    summary: "Deprecated create: task and dataset by id, existing classes only",
    request: { body: jsonBody(LegacyCreateSetBody) },
    responses: { 201: jsonContent(SetDetail, "The new set"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const b = c.req.valid("json");
    const task = taskOr400(b.task, "task");
    const set = await createLegacySet(ctx, { datasetId: b.dataset, name: b.name, task, classNames: b.classes.map((x) => x.name) });
    const { dataset } = await readableSet(ctx, set.id);
    return c.json(await serializeSetDetail(ctx, set, dataset), 201);
  },
);

for (const path of ["/api/v1/ui/annotation-sets/{id}", "/api/annotation-set/{id}"]) {
  annotationSetRoutes.openapi(
    createRoute({
      method: "get",
      path,
      tags,
      security,
      summary: "One annotation set with its task, dataset and classes",
      request: { params: SetPath },
      responses: { 200: jsonContent(SetDetail, "The set"), ...errorResponses },
    }),
    async (c) => {
      const ctx = serviceCtx(c);
      const { set, dataset } = await readableSet(ctx, c.req.valid("param").id);
      return c.json(await serializeSetDetail(ctx, set, dataset), 200);
    },
  );
}

annotationSetRoutes.openapi(
  createRoute({
    method: "put",
    path: "/api/v1/ui/annotation-sets/{id}",
    tags,
    security,
    summary: "Rename a set",
    request: { params: SetPath, body: jsonBody(RenameSetBody) },
    responses: { 200: jsonContent(IdName, "The renamed set"), ...errorResponses },
  }),
  async (c) => {
    const set = await renameSet(serviceCtx(c), c.req.valid("param").id, c.req.valid("json").name);
    return c.json({ id: set.id, name: set.name }, 200);
  },
);

annotationSetRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/annotation-sets/{id}",
    tags,
    security,
    summary: "Delete a set and all its annotations",
    request: { params: SetPath },
    responses: { 204: { description: "Deleted" }, ...errorResponses },
  }),
  async (c) => {
    await deleteSet(serviceCtx(c), c.req.valid("param").id);
    return c.body(null, 204);
  },
);

annotationSetRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/datasets/{id}/annotation-sets",
    tags,
    security,
    summary: "A dataset's sets with statistics (read from counters)",
    request: { params: IdPath, query: SetListQuery },
    responses: { 200: jsonContent(pageOf(SetListItem), "Sets"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const q = c.req.valid("query");
    const { count, results } = await listSetsWithStatistics(ctx, c.req.valid("param").id, q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);

annotationSetRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/annotation-sets/{id}/insights",
    tags,
    security,
    summary: "Per-class and per-tag counts of a set",
    request: { params: SetPath, query: InsightsQuery },
    responses: { 200: jsonContent(Insights, "Insights"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const { set } = await readableSet(ctx, c.req.valid("param").id);
    const split = (c.req.valid("query").split_by_tags ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    return c.json(await setInsights(ctx.db, set, split), 200);
  },
);


