import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError, badRequest } from "../lib/errors";
import type { OutputFormat } from "../media/encode";
import { IiifParamError, iiifRegion, iiifSize } from "../media/geometry";
import { LIMITS } from "../media/limits";
import { authorizePathToken } from "../services/images/byte-auth";
import { CONTENT_TYPES, IMMUTABLE, REVALIDATE, renderImage, serveDerived } from "../services/images/render";
import { derivedKey } from "../storage/derived-cache";

/**
 * IIIF Image API 3.0, level 1 (plus `pct:` regions and sizes, `!w,h`, gray, png and webp): what OpenSeadragon
 * and Mirador open from an info.json. `{token}` is `{id}~{exp}~{sig}` (signed) or a bare id with a key.
 */
export const iiifRoutes = new Hono<AppEnv>({ strict: false });

export const IIIF_TILE = 256;
const QUALITY = 90;
const LD_JSON = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"';

iiifRoutes.get("/iiif/3/:token/info.json", async (c) => {
  const token = c.req.param("token");
  const { img, signed } = await authorizePathToken(c, "iiif", token);
  const origin = new URL(c.req.url).origin;
  const scaleFactors: number[] = [];
  for (let f = 1; ; f *= 2) {
    scaleFactors.push(f);
    if (Math.max(img.width, img.height) / f <= IIIF_TILE) break;
  }
  const body = {
    "@context": "http://iiif.io/api/image/3/context.json",
    id: `${origin}/iiif/3/${token}`,
    type: "ImageService3",
    protocol: "http://iiif.io/api/image",
    profile: "level1",
    width: img.width,
    height: img.height,
    maxArea: LIMITS.maxOutputPixels,
    tiles: [{ width: IIIF_TILE, height: IIIF_TILE, scaleFactors }],
    extraQualities: ["gray"],
    extraFormats: ["png", "webp"],
    extraFeatures: ["regionByPct", "sizeByPct", "sizeByConfinedWh"],
  };
  return new Response(JSON.stringify(body), {
    headers: {
      "content-type": LD_JSON,
      "access-control-allow-origin": "*",
      "cache-control": signed ? "private, max-age=3600" : REVALIDATE,
    },
  });
});

iiifRoutes.get("/iiif/3/:token", (c) => c.redirect(`/iiif/3/${c.req.param("token")}/info.json`, 303));

iiifRoutes.get("/iiif/3/:token/:region/:size/:rotation/:file", async (c) => {
  const { region: regionSpec, size: sizeSpec, rotation, file } = c.req.param();
  const fm = /^(default|color|gray)\.(jpg|png|webp)$/.exec(file);
  // Parameters are checked before access so that malformed requests fail the same way for everyone.
  if (!fm)
    throw badRequest(`invalid quality/format "${file.slice(0, 40)}": expected (default|color|gray).(jpg|png|webp)`);
  if (rotation !== "0") throw badRequest(`invalid rotation "${rotation.slice(0, 20)}": only 0 is supported`);
  const { img, signed } = await authorizePathToken(c, "iiif", c.req.param("token"));
  let region, size;
  try {
    region = iiifRegion(decodeURIComponent(regionSpec), img.width, img.height);
    size = iiifSize(decodeURIComponent(sizeSpec), region, LIMITS.maxOutputPixels);
  } catch (e) {
    if (e instanceof IiifParamError || e instanceof URIError) throw new ApiError("BAD_REQUEST", e.message);
    throw e;
  }
  const format = fm[2] as OutputFormat;
  const gray = fm[1] === "gray";
  const key = derivedKey(img.sha256, "iiif", {
    x: region.x,
    y: region.y,
    w: region.w,
    h: region.h,
    ow: size.width,
    oh: size.height,
    f: format,
    g: gray ? 1 : 0,
  });
  const res = await serveDerived(c, key, signed ? IMMUTABLE : REVALIDATE, async () => ({
    bytes: await renderImage(c.env, img, region, size.width, size.height, format, QUALITY, { gray }),
    contentType: CONTENT_TYPES[format],
  }));
  res.headers.set("access-control-allow-origin", "*");
  return res;
});
