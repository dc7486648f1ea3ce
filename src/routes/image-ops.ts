import { createRoute, z } from "@hono/zod-openapi";
import { badRequest } from "../lib/errors";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { expiryFor, signScope } from "../lib/signing";
import { remoCrop, scaledSize } from "../media/geometry";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { serviceCtx } from "../services/context";
import { readableImage } from "../services/images/access";
import { REVALIDATE, renderImage, serveDerived } from "../services/images/render";
import { requestPyramid } from "../services/images/pyramid";
import { derivedKey } from "../storage/derived-cache";
import { dziRoutes } from "./dzi";
import { filesRoutes } from "./files";
import { iiifRoutes } from "./iiif";

export const imageOpsRoutes = createRouter();
const tags = ["images"];

const nonNegInt = (name: string) =>
  z.coerce
    .number({ message: "must be an integer" })
    .int({ message: "must be an integer" })
    .min(0, { message: "must be 0 or more" })
    .default(0)
    .openapi({ param: { name, in: "query" }, type: "integer" });

export const DownsampleQuery = z.object({
  source_x: nonNegInt("source_x"),
  source_y: nonNegInt("source_y"),
  source_width: nonNegInt("source_width"),
  source_height: nonNegInt("source_height"),
  downscale: z.coerce
    .number({ message: "must be a number" })
    .refine((v) => Number.isFinite(v), { message: "must be a finite number" })
    .refine((v) => v >= 0.0001, { message: "must be at least 0.0001" })
    .refine((v) => v <= 1, { message: "must be at most 1 (results are never enlarged)" })
    .default(1)
    .openapi({ param: { name: "downscale", in: "query" }, type: "number" }),
  quality: z.coerce
    .number({ message: "must be an integer" })
    .int({ message: "must be an integer" })
    .min(1, { message: "must be between 1 and 100" })
    .max(100, { message: "must be between 1 and 100" })
    .default(95)
    .openapi({ param: { name: "quality", in: "query" }, type: "integer" }),
});

const StatusBody = z.object({ status: z.string() }).openapi("ImageCacheStatus");

imageOpsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/images/{id}/cache",
    tags,
    security,
    summary: "Queue the build of the image's pyramid (successive halvings in R2); says whether it is built",
    request: { params: IdPath },
    responses: { 200: jsonContent(StatusBody, "`Image #N - cached` or `Image #N - caching`"), ...errorResponses },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const img = await readableImage(serviceCtx(c), id, { fresh: true });
    const state = await requestPyramid(c.env, img);
    return c.json({ status: `Image #${id} - ${state}` }, 200);
  },
);

imageOpsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/images/{id}/downsample",
    tags,
    security,
    summary: "A crop resized by `downscale`, as JPEG (Remo's clamping rules); cached in KV with a strong ETag",
    request: { params: IdPath, query: DownsampleQuery },
    responses: {
      200: { description: "The JPEG", content: { "image/jpeg": { schema: z.string().openapi({ format: "binary" }) } } },
      304: { description: "Not modified (If-None-Match)" },
      ...errorResponses,
      413: errorResponses[400],
      422: errorResponses[400],
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    const img = await readableImage(serviceCtx(c), id);
    const crop = remoCrop(img.width, img.height, q);
    if (!crop)
      throw badRequest(
        `The crop is empty: source_x/source_y must lie inside the ${img.width}×${img.height} image and source_width/source_height be at least 1.`,
      );
    const out = scaledSize(crop, q.downscale);
    const key = derivedKey(img.sha256, "downsample", {
      x: crop.x,
      y: crop.y,
      w: crop.w,
      h: crop.h,
      ow: out.width,
      oh: out.height,
      q: q.quality,
    });
    return serveDerived(c, key, REVALIDATE, async () => ({
      bytes: await renderImage(c.env, img, crop, out.width, out.height, "jpg", q.quality),
      contentType: "image/jpeg",
    })) as never;
  },
);

const DeepZoomBody = z
  .object({
    iiif: z.string().openapi({ description: "Signed IIIF Image API 3.0 info.json (relative URL)" }),
    dzi: z.string().openapi({ description: "Signed Deep Zoom descriptor (relative URL)" }),
    pyramid_status: z.string().nullable(),
    expires_at: z.string(),
  })
  .openapi("ImageDeepZoom");

imageOpsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/ui/images/{id}/deepzoom",
    tags,
    security,
    summary: "Signed IIIF and Deep Zoom URLs for a viewer (OpenSeadragon opens either as is)",
    request: { params: IdPath },
    responses: { 200: jsonContent(DeepZoomBody, "Viewer URLs"), ...errorResponses },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const img = await readableImage(serviceCtx(c), id, { fresh: true });
    const exp = expiryFor();
    const [iiifSig, dziSig] = await Promise.all([
      signScope(c.env, `iiif:${id}`, exp),
      signScope(c.env, `dzi:${id}`, exp),
    ]);
    return c.json(
      {
        iiif: `/iiif/3/${id}~${exp}~${iiifSig}/info.json`,
        dzi: `/dzi/${id}~${exp}~${dziSig}.dzi`,
        pyramid_status: img.pyramidStatus,
        expires_at: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      200,
    );
  },
);

/** Everything of issue 6, mounted with one line in app.ts: the API routes above and the byte routes. */
export const imageRoutes = createRouter();

// The byte routes are plain Hono handlers (binary bodies, signatures in paths); documented here.
const bytes = (description: string, type: string) => ({
  description,
  content: { [type]: { schema: z.string().openapi({ format: "binary" }) } },
});
const byteErrors = {
  400: errorResponses[400],
  403: errorResponses[403],
  404: errorResponses[404],
  413: errorResponses[400],
  422: errorResponses[400],
};
const pathParam = (name: string) => ({
  name,
  in: "path" as const,
  required: true,
  schema: { type: "string" as const },
});
for (const [path, summary, body, params] of [
  [
    "/files/images/{id}/original/{name}",
    "The original bytes (signed `?exp=&sig=` or a key): ETag = sha256, Range, 304",
    bytes("The original", "application/octet-stream"),
    ["id", "name"],
  ],
  [
    "/files/images/{id}/{size}.jpg",
    "view / preview / thumbnail: JPEG, longest side 2048 / 512 / 256, cached in KV",
    bytes("The JPEG", "image/jpeg"),
    ["id", "size"],
  ],
  [
    "/iiif/3/{token}/info.json",
    "IIIF Image API 3.0 level 1 image information; token = `{id}~{exp}~{sig}` or a bare id with a key",
    { description: "info.json", content: { "application/ld+json": { schema: z.object({}).passthrough() } } },
    ["token"],
  ],
  [
    "/iiif/3/{token}/{region}/{size}/{rotation}/{file}",
    "IIIF image request: region full|square|x,y,w,h|pct:…, size max|w,|,h|pct:n|w,h|!w,h, rotation 0, file (default|color|gray).(jpg|png|webp)",
    bytes("The image", "image/jpeg"),
    ["token", "region", "size", "rotation", "file"],
  ],
  [
    "/dzi/{file}",
    "Deep Zoom descriptor: `{token}.dzi`",
    { description: "DZI XML", content: { "application/xml": { schema: z.string() } } },
    ["file"],
  ],
  [
    "/dzi/{base}/{level}/{tile}",
    "Deep Zoom tile: `{token}_files/{level}/{col}_{row}.jpg`",
    bytes("The tile", "image/jpeg"),
    ["base", "level", "tile"],
  ],
] as const) {
  imageRoutes.openAPIRegistry.registerPath({
    method: "get",
    path,
    tags: ["image bytes"],
    summary,
    parameters: params.map(pathParam),
    responses: { 200: body, 304: { description: "Not modified (If-None-Match)" }, ...byteErrors },
  });
}
imageRoutes.route("/", imageOpsRoutes);
imageRoutes.route("/", filesRoutes);
imageRoutes.route("/", iiifRoutes);
imageRoutes.route("/", dziRoutes);
