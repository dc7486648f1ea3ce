import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { eq } from "drizzle-orm";
import type { AppEnv, AuthUser } from "../env";
import { createDb } from "../db/client";
import { apiKeys, users } from "../db/schema";
import { ApiError, unauthorized } from "./errors";
import { sha256Hex } from "./hashing";
import { assertSameOrigin, clearSessionCookie, isSafeMethod, readSessionCookie } from "./session-cookie";
import { TtlCache } from "./ttl-cache";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Every response carries `x-request-id` (the caller's, if well-formed, else a new one). */
export const requestId = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const given = c.req.header("x-request-id");
    const id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.header("x-request-id", id);
  });

export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set("db", createDb(c.env.DB));
    await next();
  });

/** The key from `Authorization: Token <key>` (Remo clients) or `Bearer <key>`. */
export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(Token|Bearer)\s+(\S+)\s*$/i.exec(header);
  return m ? m[2] : null;
}

/**
 * Positive key lookups cached in the isolate for a short while: every /api/ request otherwise pays a D1 round
 * trip before its own work (most of a cached image's time). Bounded in size and age; a logout evicts its key here
 * at once, and another isolate may accept a revoked key for at most KEY_CACHE_TTL_MS (the usual trade, as
 * unkey makes it). Unknown keys are never cached, so a new key works everywhere immediately.
 */
export const KEY_CACHE_TTL_MS = 30_000;
const KEY_CACHE_MAX = 5_000;
const keyCache = new TtlCache<string, AuthUser>(KEY_CACHE_TTL_MS, KEY_CACHE_MAX);

export function forgetKeyHash(hash: string) {
  keyCache.delete(hash);
}

type Ctx = Parameters<Parameters<typeof createMiddleware<AppEnv>>[0]>[0];

/** The user a raw key belongs to, or null (also for a null key). */
export async function userForKey(c: Ctx, key: string | null): Promise<AuthUser | null> {
  if (!key) return null;
  const hash = await sha256Hex(key);
  const hit = keyCache.get(hash);
  if (hit) return hit;
  const rows = await c.var.db
    .select({ id: users.id, email: users.email, name: users.name, isSuperuser: users.isSuperuser, keyId: apiKeys.id })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(eq(apiKeys.keyHash, hash))
    .limit(1);
  const user = rows[0] ?? null;
  if (!user) {
    keyCache.delete(hash);
    return null;
  }
  keyCache.set(hash, user);
  return user;
}

/**
 * The user of the request's Authorization key. Header only: the byte routes outside /api/ use this and keep their
 * rule (a key header, else a signature), so a session cookie never stands in for a signed image URL.
 */
export async function authenticate(c: Ctx): Promise<AuthUser | null> {
  return userForKey(c, bearerKey(c.req.header("authorization")));
}

const strip = (p: string) => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p);

/**
 * Requires a valid key on every path but the listed public ones (compared without trailing slash): from the
 * Authorization header, or else from the browser session cookie, whose unsafe requests must be same-origin (CSRF).
 */
export const requireAuth = (publicPaths: string[]) => {
  const open = new Set(publicPaths.map(strip));
  return createMiddleware<AppEnv>(async (c, next) => {
    if (open.has(strip(c.req.path))) return next();
    if (c.req.header("authorization")) {
      // A header always wins: API clients are never judged by a cookie the same browser may also hold.
      const user = await authenticate(c);
      if (!user) throw unauthorized("Invalid token.");
      c.set("user", user);
      c.set("authVia", "header");
      return next();
    }
    const key = readSessionCookie(c);
    if (!key) throw unauthorized("Authentication credentials were not provided.");
    if (!isSafeMethod(c.req.method)) assertSameOrigin(c);
    const user = await userForKey(c, key);
    if (!user) {
      clearSessionCookie(c); // revoked or garbage: let the browser forget it, so its pages ask to sign in again
      throw unauthorized("Your session has ended (signed out or revoked): sign in again.");
    }
    c.set("user", user);
    c.set("authVia", "cookie");
    await next();
  });
};

/**
 * JSON and form bodies are parsed whole, so they are capped here, once, for every route (files travel as multipart
 * or streamed PUTs, which their routes bound themselves). Without it a 100 MB JSON body would be parsed into the
 * 128 MB isolate.
 */
export const MAX_PARSED_BODY_BYTES = 16 * 1024 * 1024;

export const parsedBodyLimit = () => {
  const limit = bodyLimit({
    maxSize: MAX_PARSED_BODY_BYTES,
    onError: () => {
      throw new ApiError("PAYLOAD_TOO_LARGE", `JSON and form bodies are limited to ${MAX_PARSED_BODY_BYTES} bytes`);
    },
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    if (type.includes("json") || type.includes("x-www-form-urlencoded")) return limit(c, next);
    await next();
  });
};
