import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError, forbidden, notFound } from "../lib/errors";
import { verifySignedRequest } from "../lib/signing";
import { contentDisposition } from "../services/export/stream";
import { exportObjectKey, parseRange } from "../services/export/download";

/**
 * The signed download of a finished export (`download_url` of its job): no Authorization header, the signature
 * authorises exactly this path until the export expires. Range requests are served from R2 without buffering.
 */
export const exportFileRoutes = new Hono<AppEnv>({ strict: false });

exportFileRoutes.on(["GET", "HEAD"], "/files/exports/:jobId/:name", async (c) => {
  const url = new URL(c.req.url);
  const verdict = await verifySignedRequest(c.env, url);
  if (verdict === "expired") throw forbidden("This download link has expired.");
  if (verdict !== "ok") throw forbidden("Invalid download signature.");
  // From the raw path, not the router's params: the name may hold an encoded '/' or '%'.
  const [, , , rawJob = "", rawName = ""] = url.pathname.split("/");
  const jobId = Number(rawJob);
  let name: string | null = null;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    name = null;
  }
  const found =
    name !== null && Number.isInteger(jobId) && jobId > 0 ? await exportObjectKey(c.env, jobId, name) : null;
  if (!found) throw notFound("This export does not exist or has expired.");
  const head = await c.env.BUCKET.head(found.key);
  if (!head) throw notFound("This export does not exist or has expired.");

  const headers = new Headers({
    "content-type": found.type,
    "content-disposition": contentDisposition(found.name, true),
    "accept-ranges": "bytes",
    etag: head.httpEtag,
    "cache-control": "private, no-store",
  });
  const range = parseRange(c.req.header("range"), head.size);
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${head.size}`);
    return c.json(
      {
        error: "Range Not Satisfiable",
        errors: ["Range Not Satisfiable"],
        detail: "Range Not Satisfiable",
        request_id: c.var.requestId,
      },
      { status: 416, headers: Object.fromEntries(headers) },
    );
  }
  if (c.req.method === "HEAD") {
    headers.set("content-length", String(head.size));
    return new Response(null, { status: 200, headers });
  }
  const obj = await c.env.BUCKET.get(found.key, range ? { range } : {});
  if (!obj) throw new ApiError("NOT_FOUND", "This export does not exist or has expired.");
  if (range) {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    headers.set("content-length", String(range.length));
    return new Response(obj.body, { status: 206, headers });
  }
  headers.set("content-length", String(head.size));
  return new Response(obj.body, { status: 200, headers });
});
