import { createRoute } from "@hono/zod-openapi";
import { toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { CommonClassQuery, IdNameItem, NameBody, SetClassPath, SetPathOnly } from "../schemas/classes";
import { errorResponses, jsonBody, jsonContent, pageOf, security } from "../schemas/common";
import { addSetClass, deleteSetClass, ensureClass, listCommonClasses, renameSetClass } from "../services/annotations/classes";
import { serviceCtx } from "../services/context";

export const classRoutes = createRouter();
const tags = ["classes"];

classRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/common-class",
    tags,
    security,
    summary: "Get-or-create a global class (200 existing, 201 new)",
    request: { body: jsonBody(NameBody) },
    responses: { 200: jsonContent(IdNameItem, "Existing class"), 201: jsonContent(IdNameItem, "New class"), ...errorResponses },
  }),
  async (c) => {
    const cls = await ensureClass(serviceCtx(c), c.req.valid("json").name);
    return c.json({ id: cls.id, name: cls.name }, cls.created ? 201 : 200);
  },
);

classRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/common-class",
    tags,
    security,
    summary: "Global classes, by case-insensitive prefix (`autocomplete`)",
    request: { query: CommonClassQuery },
    responses: { 200: jsonContent(pageOf(IdNameItem), "Classes by name"), ...errorResponses },
  }),
  async (c) => {
    const q = c.req.valid("query");
    const { count, results } = await listCommonClasses(serviceCtx(c), q.autocomplete ?? "", q);
    return c.json(toPage(c.req.url, q, count, results), 200);
  },
);

classRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/annotation-sets/{id}/classes",
    tags,
    security,
    summary: "Add a class to a set (201 added, 200 already there)",
    request: { params: SetPathOnly, body: jsonBody(NameBody) },
    responses: { 200: jsonContent(IdNameItem, "Already in the set"), 201: jsonContent(IdNameItem, "Added"), ...errorResponses },
  }),
  async (c) => {
    const r = await addSetClass(serviceCtx(c), c.req.valid("param").id, c.req.valid("json").name);
    return c.json({ id: r.id, name: r.name }, r.created ? 201 : 200);
  },
);

classRoutes.openapi(
  createRoute({
    method: "put",
    path: "/api/v1/ui/annotation-sets/{id}/classes/{class_id}",
    tags,
    security,
    summary: "Rename a class in a set, merging into an existing class of that name",
    request: { params: SetClassPath, body: jsonBody(NameBody) },
    responses: { 200: jsonContent(IdNameItem, "The class the objects now have"), ...errorResponses },
  }),
  async (c) => {
    const p = c.req.valid("param");
    return c.json(await renameSetClass(serviceCtx(c), p.id, p.class_id, c.req.valid("json").name), 200);
  },
);

classRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/ui/annotation-sets/{id}/classes/{class_id}",
    tags,
    security,
    summary: "Remove a class from a set; objects left with no class are deleted",
    request: { params: SetClassPath },
    responses: { 204: { description: "Removed" }, ...errorResponses },
  }),
  async (c) => {
    const p = c.req.valid("param");
    await deleteSetClass(serviceCtx(c), p.id, p.class_id);
    return c.body(null, 204);
  },
);
