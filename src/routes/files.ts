import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError, errorBody, notFound } from "../lib/errors";
import { DERIVED_SIZES, type DerivedSize } from "../lib/image-urls";
import { SIGNATURE_TTL_SECONDS, SIGNATURE_WINDOW_SECONDS } from "../lib/signing";
import { fitWithin } from "../media/geometry";
import { authorizeSignedPath, parseImageId } from "../services/images/byte-auth";
import { IMMUTABLE, REVALIDATE, renderImage, serveDerived } from "../services/images/render";
import { derivedKey } from "../storage/derived-cache";

/**
 * The signed byte routes behind the URLs of src/lib/image-urls.ts. Outside /api/, so no global key check: each
 * handler accepts a valid signature or an Authorization key (src/services/images/byte-auth.ts).
 */
export const filesRoutes = new Hono<AppEnv>({ strict: false });

const DERIVED_QUALITY = 85;

filesRoutes.get("/files/images/:id/original/:name", async (c) => {
  const { img, signed } = await authorizeSignedPath(c, parseImageId(c.req.param("id")));
  const etag = `"${img.sha256}"`;
  const exp = Number(new URL(c.req.url).searchParams.get("exp"));
  const maxAge = signed
    ? Math.max(0, Math.min(SIGNATURE_TTL_SECONDS + SIGNATURE_WINDOW_SECONDS, exp - Math.floor(Date.now() / 1000)))
    : 0;
  const headers: Record<string, string> = {
    etag,
    "cache-control": signed ? `private, max-age=${maxAge}` : REVALIDATE,
    "accept-ranges": "bytes",
  };
  const inm = c.req.header("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*"))
    return new Response(null, { status: 304, headers });

  const head = await c.env.BUCKET.head(img.r2Key);
  if (!head) throw notFound("The image's bytes are missing.");
  const size = head.size;
  const range = parseRange(c.req.header("range"), size);
  // If-Range: a range applies only while the representation is the one the client has.
  const ifRange = c.req.header("if-range");
  const useRange = range && (!ifRange || ifRange === etag);
  if (range === "unsatisfiable") {
    const body = errorBody(`Range not satisfiable: the file has ${size} bytes`, c.var.requestId);
    return c.json(body, 416, { ...headers, "content-range": `bytes */${size}` });
  }
  headers["content-type"] = img.mime;
  headers["content-disposition"] = `inline; filename*=UTF-8''${encodeURIComponent(img.originalName)}`;
  if (useRange && range) {
    const obj = await c.env.BUCKET.get(img.r2Key, {
      range: { offset: range.start, length: range.end - range.start + 1 },
    });
    if (!obj) throw notFound("The image's bytes are missing.");
    return new Response(obj.body, {
      status: 206,
      headers: {
        ...headers,
        "content-range": `bytes ${range.start}-${range.end}/${size}`,
        "content-length": String(range.end - range.start + 1),
      },
    });
  }
  const obj = await c.env.BUCKET.get(img.r2Key);
  if (!obj) throw notFound("The image's bytes are missing.");
  return new Response(obj.body, { status: 200, headers: { ...headers, "content-length": String(size) } });
});

filesRoutes.get("/files/images/:id/:file", async (c) => {
  const m = /^(view|preview|thumbnail)\.jpg$/.exec(c.req.param("file"));
  if (!m) throw notFound();
  const size = m[1] as DerivedSize;
  const { img, signed } = await authorizeSignedPath(c, parseImageId(c.req.param("id")));
  const out = fitWithin(img.width, img.height, DERIVED_SIZES[size]);
  const key = derivedKey(img.sha256, "fit", {
    max: DERIVED_SIZES[size],
    ow: out.width,
    oh: out.height,
    q: DERIVED_QUALITY,
  });
  return serveDerived(c, key, signed ? IMMUTABLE : REVALIDATE, async () => ({
    bytes: await renderImage(
      c.env,
      img,
      { x: 0, y: 0, w: img.width, h: img.height },
      out.width,
      out.height,
      "jpg",
      DERIVED_QUALITY,
    ),
    contentType: "image/jpeg",
  }));
});

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; several ranges are answered with the whole body (allowed). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) {
    if (/^bytes=/.test(header) && header.includes(",")) return null;
    throw new ApiError("BAD_REQUEST", `Malformed Range header "${header.slice(0, 60)}"`);
  }
  if (!m[1] && !m[2]) throw new ApiError("BAD_REQUEST", `Malformed Range header "${header.slice(0, 60)}"`);
  let start: number;
  let end: number;
  if (!m[1]) {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
    if (m[2] && Number(m[2]) < start)
      throw new ApiError("BAD_REQUEST", `Malformed Range header "${header.slice(0, 60)}"`);
  }
  if (start >= size) return "unsatisfiable";
  return { start, end };
}
