import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { ApiError, errorBody } from "./lib/errors";
import { log } from "./lib/log";
import { database, parsedBodyLimit, requestId, requireAuth } from "./lib/middleware";
import { forwardToDatasetStore } from "./dataset-store/forward";
import { adminRoutes } from "./routes/admin";
import { annotationSetRoutes } from "./routes/annotation-sets";
import { annotationRoutes } from "./routes/annotations";
import { annotationGalleryRoutes } from "./routes/annotation-gallery";
import { classRoutes } from "./routes/classes";
import { tagRoutes } from "./routes/tags";
import { datasetImageRoutes } from "./routes/images";
import { searchRoutes } from "./routes/search";
import { authRoutes } from "./routes/auth";
import { exportFileRoutes } from "./routes/export-files";
import { exportRoutes } from "./routes/export";
import { jobRoutes } from "./routes/jobs";
import { contentsRoutes } from "./routes/contents";
import { datasetRoutes } from "./routes/datasets";
import { folderRoutes } from "./routes/folders";
import { imageRoutes } from "./routes/image-ops";
import { metaRoutes } from "./routes/meta";
import { uploadRoutes } from "./routes/uploads";
import { notFoundPage, pageRoutes } from "./routes/pages";

/** Paths under /api/ that need no key. (Byte routes outside /api/ check their own signature.) */
const PUBLIC_API_PATHS = ["/api/rest-auth/login", "/api/signup"];

export function buildApp() {
  const app = new OpenAPIHono<AppEnv>({ strict: false });

  app.use("*", requestId());
  app.use("*", forwardToDatasetStore());
  app.use("*", database());
  app.use("/api/*", requireAuth(PUBLIC_API_PATHS));
  app.use("/api/*", parsedBodyLimit());

  app.route("/", metaRoutes);
  app.route("/", authRoutes);
  app.route("/", datasetRoutes);
  app.route("/", folderRoutes);
  app.route("/", contentsRoutes);
  app.route("/", imageRoutes);
  app.route("/", exportRoutes);
  app.route("/", jobRoutes);
  app.route("/", exportFileRoutes);
  app.route("/", annotationSetRoutes);
  app.route("/", annotationRoutes);
  app.route("/", annotationGalleryRoutes);
  app.route("/", classRoutes);
  app.route("/", tagRoutes);
  app.route("/", datasetImageRoutes);
  app.route("/", searchRoutes);
  app.route("/", uploadRoutes);
  app.route("/", adminRoutes);
  app.route("/", pageRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "Token", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`Token <key>`, as Remo clients send it",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "Bearer", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerComponent("securitySchemes", "Session", {
    type: "apiKey",
    in: "cookie",
    name: "remo_session",
    description:
      "The browser session set by login with `session=cookie`. Used only when no Authorization header is sent; " +
      "its POST/PUT/PATCH/DELETE requests must carry this server's own Origin (or Referer), else 403.",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Remo edge API",
      version: "0.1.0",
      description: "Remo's dataset and annotation REST API, served by one Cloudflare Worker.",
    },
  });

  app.notFound(async (c) => {
    // A person who follows a stale link gets the 404 page; API clients (and anything under /api/) get JSON.
    const wantsPage =
      c.req.method === "GET" && !c.req.path.startsWith("/api/") && (c.req.header("accept") ?? "").includes("text/html");
    if (wantsPage) return notFoundPage(c);
    return c.json(errorBody("Not found.", c.var.requestId ?? ""), 404);
  });

  app.onError((err, c) => {
    const rid = c.var.requestId ?? crypto.randomUUID();
    c.header("x-request-id", rid);
    if (err instanceof ApiError) {
      if (err.status >= 500) log("error", rid, err.message, { path: c.req.path });
      return c.json(errorBody(err.message, rid, err.issues, err.extra), err.status);
    }
    if (err instanceof HTTPException) {
      // Hono's own: malformed JSON bodies, bad content types from validators, etc.
      return c.json(errorBody(err.message || "Bad request", rid), err.status);
    }
    log("error", rid, "unhandled error", {
      path: c.req.path,
      method: c.req.method,
      error: String((err as Error)?.stack ?? err),
    });
    return c.json(errorBody("Internal server error", rid), 500);
  });

  return app;
}
