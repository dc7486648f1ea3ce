import { createRoute, z } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { CountQuery, ExportQuery, JobCreated } from "../schemas/export";
import { serviceCtx } from "../services/context";
import { createExportJob, jobView } from "../services/export/jobs";
import { countExportImages, exportPages, resolveTagIds } from "../services/export/pages";
import { parseExportParams, parseTagFilter } from "../services/export/params";
import { exportFile, planExport, readableExportSet, toReadableStream } from "../services/export/stream";
import { exportTagsCsv } from "../formats/export-tags";
import { encodeChunks } from "../formats/export-text";
import { badRequest } from "../lib/errors";

export const exportRoutes = createRouter();
const tags = ["export"];
const base = "/api/v1/ui/annotation-sets/{id}";

const fileResponse = (types: string[], description: string) => ({
  description,
  content: Object.fromEntries(types.map((t) => [t, { schema: z.string().openapi({ format: "binary" }) }])),
});

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: `${base}/export`,
    tags,
    security,
    summary: "Export a set (Remo JSON, COCO, CSV; YOLO and VOC zips), streamed from paged reads",
    request: { params: IdPath, query: ExportQuery },
    responses: {
      200: fileResponse(["application/json", "text/csv", "application/zip"], "The export"),
      ...errorResponses,
    },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const params = parseExportParams(c.req.query());
    const set = await readableExportSet(ctx, c.req.valid("param").id);
    const file = exportFile(c.env.DB, await planExport(c.env.DB, set, params));
    return new Response(await toReadableStream(file.body), {
      headers: {
        "content-type": file.contentType,
        "content-disposition": file.disposition,
        "cache-control": "no-store",
      },
    }) as never;
  },
);

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: `${base}/export-tags`,
    tags,
    security,
    summary: "tags.csv alone: file_name,tag per (image, tag)",
    request: { params: IdPath, query: CountQuery },
    responses: { 200: fileResponse(["text/csv"], "tags.csv"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const set = await readableExportSet(ctx, c.req.valid("param").id);
    const tagIds = await resolveTagIds(c.env.DB, parseTagFilter(c.req.query("filter_by_tags")));
    const pages = exportPages(
      c.env.DB,
      { datasetId: set.datasetId, setId: set.id, withoutAnnotations: false, tagIds },
      { tagsOnly: true },
    );
    return new Response(await toReadableStream(encodeChunks(exportTagsCsv(pages))), {
      headers: {
        "content-type": "text/csv",
        "content-disposition": 'attachment; filename="tags.csv"',
        "cache-control": "no-store",
      },
    }) as never;
  },
);

exportRoutes.openapi(
  createRoute({
    method: "get",
    path: `${base}/export-count`,
    tags,
    security,
    summary: "How many images an export would hold",
    request: { params: IdPath, query: CountQuery },
    responses: { 200: jsonContent(z.object({ count: z.number().int() }), "The count"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const set = await readableExportSet(ctx, c.req.valid("param").id);
    const tagIds = await resolveTagIds(c.env.DB, parseTagFilter(c.req.query("filter_by_tags")));
    const count = await countExportImages(c.env.DB, {
      datasetId: set.datasetId,
      setId: set.id,
      withoutAnnotations: false,
      tagIds,
    });
    return c.json({ count }, 200);
  },
);

exportRoutes.openapi(
  createRoute({
    method: "post",
    path: `${base}/exports`,
    tags,
    security,
    summary: "Export a set of any size in the background: 202 {job}; identical running requests share one job",
    description: "Parameters as for GET .../export/, in the query string or a JSON body. Poll GET /api/v1/jobs/{id}.",
    request: { params: IdPath, query: ExportQuery },
    responses: {
      202: jsonContent(JobCreated, "The job (new, or the identical one already running)"),
      ...errorResponses,
    },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const body = await readJsonObject(c.req.raw);
    const params = parseExportParams({ ...c.req.query(), ...body });
    const { job } = await createExportJob(ctx, c.req.valid("param").id, params);
    return c.json({ job: await jobView(c.env, job) }, 202);
  },
);

/** An optional JSON body of parameters, values as strings (booleans and lists as Remo clients send them). */
async function readJsonObject(req: Request): Promise<Record<string, string>> {
  if (!(req.headers.get("content-type") ?? "").includes("json")) return {};
  const text = await req.text();
  if (!text.trim()) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw badRequest("Malformed JSON body");
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) return {};
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : String(v)]),
  );
}
