import type { Context } from "hono";
import type { AppEnv } from "../../env";
import { badRequest } from "../../lib/errors";
import { verifyScope, verifySignedRequest } from "../../lib/signing";
import { authorizeImageBytes } from "./access";
import { imageScope } from "../../lib/image-urls";

const ID = /^[1-9]\d{0,15}$/;

export function parseImageId(raw: string): number {
  if (!ID.test(raw)) throw badRequest(`Invalid image id "${raw.slice(0, 40)}": must be a positive integer`);
  return Number(raw);
}

/**
 * Query-signed paths (`?exp=&sig=`, from src/lib/image-urls.ts), or an Authorization key. The signature is over
 * the image's scope (`image:{id}`, any of its byte paths), or, for URLs signed before that scope existed and not yet
 * expired, over the exact path.
 */
export async function authorizeSignedPath(c: Context<AppEnv>, imageId: number) {
  const url = new URL(c.req.url);
  let verdict: "ok" | "expired" | "invalid" | "absent" = "absent";
  if (url.searchParams.has("sig")) {
    verdict = await verifyScope(c.env, imageScope(imageId), Number(url.searchParams.get("exp")), url.searchParams.get("sig") ?? "");
    if (verdict === "invalid") verdict = await verifySignedRequest(c.env, url);
  }
  return authorizeImageBytes(c, imageId, verdict);
}

/**
 * Deep-zoom viewers derive tile URLs from a base id and drop query strings, so IIIF and DZI carry the signature in
 * the path: `{id}~{exp}~{sig}`, signed over `<scope>:<id>`. A bare `{id}` needs an Authorization key.
 */
export async function authorizePathToken(c: Context<AppEnv>, scope: "iiif" | "dzi", token: string) {
  const parts = token.split("~");
  const imageId = parseImageId(parts[0]);
  let verdict: "ok" | "expired" | "invalid" | "absent" = "absent";
  if (parts.length === 3)
    verdict = /^\d{1,12}$/.test(parts[1])
      ? await verifyScope(c.env, `${scope}:${imageId}`, Number(parts[1]), parts[2])
      : "invalid";
  else if (parts.length !== 1) verdict = "invalid";
  return { ...(await authorizeImageBytes(c, imageId, verdict)), token };
}
