import type { Env } from "../env";
import { base64url, timingSafeEqual } from "./hashing";

/**
 * Signed, expiring URLs for bytes fetched without headers (<img>, deep-zoom viewers, the SDK's image download).
 * Expiries are rounded up to a fixed window, so one image keeps one URL for a while and caches stay warm:
 * a URL is valid for between TTL and TTL + WINDOW seconds.
 */
export const SIGNATURE_TTL_SECONDS = 3600;
export const SIGNATURE_WINDOW_SECONDS = 3600;

const enc = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let k = keyCache.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    keyCache.set(secret, k);
  }
  return k;
}

function secretOf(env: Pick<Env, "SIGNING_SECRET">): string {
  if (!env.SIGNING_SECRET) throw new Error("SIGNING_SECRET is not configured");
  return env.SIGNING_SECRET;
}

export function expiryFor(nowSeconds = Math.floor(Date.now() / 1000), ttl = SIGNATURE_TTL_SECONDS): number {
  return Math.ceil((nowSeconds + ttl) / SIGNATURE_WINDOW_SECONDS) * SIGNATURE_WINDOW_SECONDS;
}

/** HMAC-SHA256 of `scope` and `exp`, base64url. `scope` is a path, or a prefix such as `iiif:42`. */
export async function signScope(env: Pick<Env, "SIGNING_SECRET">, scope: string, exp: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secretOf(env)), enc.encode(`${scope}\n${exp}`));
  return base64url(new Uint8Array(mac));
}

export async function verifyScope(
  env: Pick<Env, "SIGNING_SECRET">,
  scope: string,
  exp: number,
  sig: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<"ok" | "expired" | "invalid"> {
  if (!Number.isFinite(exp) || !sig) return "invalid";
  const expected = await signScope(env, scope, exp);
  if (!timingSafeEqual(expected, sig)) return "invalid";
  return exp < nowSeconds ? "expired" : "ok";
}

/** `path?exp=…&sig=…`: a relative URL that authorises a GET of exactly that path until `exp`. */
export async function signPath(env: Pick<Env, "SIGNING_SECRET">, path: string, exp = expiryFor()): Promise<string> {
  const sig = await signScope(env, path, exp);
  return `${path}${path.includes("?") ? "&" : "?"}exp=${exp}&sig=${sig}`;
}

/** Verifies the `exp`/`sig` query parameters of a request against its path. */
export async function verifySignedRequest(env: Pick<Env, "SIGNING_SECRET">, url: URL) {
  const exp = Number(url.searchParams.get("exp"));
  const sig = url.searchParams.get("sig") ?? "";
  return verifyScope(env, url.pathname, exp, sig);
}
