import { Hono } from "hono";
import type { AppEnv } from "../env";
import { badRequest, notFound } from "../lib/errors";
import { dziTile } from "../media/geometry";
import { authorizePathToken } from "../services/images/byte-auth";
import { IMMUTABLE, REVALIDATE, renderImage, serveDerived } from "../services/images/render";
import { derivedKey } from "../storage/derived-cache";

/**
 * Deep Zoom (`.dzi` + `_files/{level}/{col}_{row}.jpg`), the other format OpenSeadragon opens directly.
 * `{token}` is `{id}~{exp}~{sig}` (signed) or a bare id with a key; tiles are cut on demand from the pyramid
 * (or the original within the decode limits) and kept in KV.
 */
export const dziRoutes = new Hono<AppEnv>({ strict: false });

export const DZI_TILE = 254;
export const DZI_OVERLAP = 1;
const QUALITY = 90;

dziRoutes.get("/dzi/:file", async (c) => {
  const m = /^(.+)\.dzi$/.exec(c.req.param("file"));
  if (!m) throw notFound();
  const { img, signed } = await authorizePathToken(c, "dzi", m[1]);
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="jpg" Overlap="${DZI_OVERLAP}" TileSize="${DZI_TILE}">` +
    `<Size Width="${img.width}" Height="${img.height}"/></Image>\n`;
  return new Response(xml, {
    headers: {
      "content-type": "application/xml",
      "access-control-allow-origin": "*",
      "cache-control": signed ? "private, max-age=3600" : REVALIDATE,
    },
  });
});

dziRoutes.get("/dzi/:base/:level/:tile", async (c) => {
  const bm = /^(.+)_files$/.exec(c.req.param("base"));
  if (!bm) throw notFound();
  const lm = /^\d{1,2}$/.exec(c.req.param("level"));
  const tm = /^(\d{1,6})_(\d{1,6})\.(jpg|jpeg)$/.exec(c.req.param("tile"));
  if (!lm || !tm) throw badRequest("invalid tile: expected {level}/{col}_{row}.jpg");
  const { img, signed } = await authorizePathToken(c, "dzi", bm[1]);
  const level = Number(lm[0]);
  const t = dziTile(img.width, img.height, DZI_TILE, DZI_OVERLAP, level, Number(tm[1]), Number(tm[2]));
  if (!t) throw notFound("No such tile.");
  const key = derivedKey(img.sha256, "dzi", {
    x: t.crop.x,
    y: t.crop.y,
    w: t.crop.w,
    h: t.crop.h,
    ow: t.width,
    oh: t.height,
  });
  const res = await serveDerived(c, key, signed ? IMMUTABLE : REVALIDATE, async () => ({
    bytes: await renderImage(c.env, img, t.crop, t.width, t.height, "jpg", QUALITY),
    contentType: "image/jpeg",
  }));
  res.headers.set("access-control-allow-origin", "*");
  return res;
});
