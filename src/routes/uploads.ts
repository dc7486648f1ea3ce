import { createRoute } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { errorResponses, jsonBody, jsonContent, security } from "../schemas/common";
import {
  BlobPath,
  CreateSessionBody,
  DirectUploadBody,
  DirectUploadReply,
  SessionIdBody,
  SessionIdPath,
  SessionListQuery,
  UploadSession,
} from "../schemas/uploads";
import { serviceCtx } from "../services/context";
import { planDirectUploads, receiveBlob } from "../services/ingest/upload-direct";
import { receiveUpload } from "../services/ingest/upload-receive";
import {
  completeSession,
  createSession,
  listSessions,
  ownSession,
  sessionDict,
} from "../services/ingest/upload-sessions";

export const uploadRoutes = createRouter();
const tags = ["uploads"];
const moreErrors = { ...errorResponses, 409: errorResponses[400], 413: errorResponses[400], 415: errorResponses[400] };

uploadRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/uploads",
    tags,
    security,
    summary: "Start an upload session for a dataset (owner only)",
    request: { body: jsonBody(CreateSessionBody) },
    responses: { 201: jsonContent(UploadSession, "The new session"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    const s = await createSession(ctx, c.req.valid("json").dataset_id);
    return c.json((await sessionDict(ctx.db, s)) as never, 201);
  },
);

uploadRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/uploads",
    tags,
    security,
    summary: "The caller's sessions: finished ones, or unfinished ones with `show_active`",
    request: { query: SessionListQuery },
    responses: { 200: jsonContent(UploadSession.array(), "Sessions"), ...errorResponses },
  }),
  async (c) => c.json({ results: await listSessions(serviceCtx(c), !!c.req.valid("query").show_active) } as never, 200),
);

uploadRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/uploads/{sid}/status",
    tags,
    security,
    summary: "A session's status object (poll until done or failed)",
    request: { params: SessionIdPath },
    responses: { 200: jsonContent(UploadSession, "The session"), ...errorResponses },
  }),
  async (c) => {
    const ctx = serviceCtx(c);
    return c.json((await sessionDict(ctx.db, await ownSession(ctx, c.req.valid("param").sid))) as never, 200);
  },
);

uploadRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/ui/uploads/{sid}/complete",
    tags,
    security,
    summary: "Start processing on the ingest queue; 404 if unknown or already started (as Remo)",
    request: { params: SessionIdPath },
    responses: { 200: jsonContent(SessionIdBody, "Started"), ...errorResponses },
  }),
  async (c) => {
    const sid = c.req.valid("param").sid;
    await completeSession(serviceCtx(c), sid);
    return c.json({ session_id: sid }, 200);
  },
);

uploadRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/dataset/{id}/upload",
    tags,
    security,
    summary: "Add files (multipart `files`, streamed, ≤ 100 MB a request), `urls` or `local_files` (JSON) to a session",
    description:
      "multipart/form-data (`files` repeated, plus the fields below as form fields) or application/json / " +
      "x-www-form-urlencoded with the fields of the `UploadJson` schema. Not declared as a validated body: multipart is streamed.",
    request: { params: IdPath },
    responses: { 200: jsonContent(SessionIdBody, "The session the files joined"), ...moreErrors },
  }),
  // The body is read here, not by a validator: multipart must stream straight to R2.
  async (c) => c.json(await receiveUpload(serviceCtx(c), c.req.valid("param").id, c.req.raw), 200),
);

uploadRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/uploads/{sid}/direct",
    tags,
    security,
    summary: "Announce big files: per file `exists` (by sha256) or a PUT target (presigned R2 URL, or the Worker)",
    request: { params: SessionIdPath, body: jsonBody(DirectUploadBody) },
    responses: { 200: jsonContent(DirectUploadReply, "Targets"), ...moreErrors },
  }),
  async (c) => c.json(await planDirectUploads(serviceCtx(c), c.req.valid("param").sid, c.req.valid("json").files), 200),
);

uploadRoutes.openapi(
  createRoute({
    method: "put",
    path: "/api/v1/uploads/{sid}/blobs/{n}",
    tags,
    security,
    summary: "Body of an announced direct upload, streamed into R2 (multipart above one part)",
    request: { params: BlobPath },
    responses: { 200: jsonContent(SessionIdBody.extend({}).partial(), "Received"), ...moreErrors },
  }),
  async (c) => {
    const { sid, n } = c.req.valid("param");
    return c.json((await receiveBlob(serviceCtx(c), sid, n, c.req.raw.body)) as never, 200);
  },
);
