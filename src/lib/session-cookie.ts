import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../env";
import { forbidden } from "./errors";

/**
 * The browser session: an API key (stored hashed like any other, so logout revokes it) carried in a cookie the
 * pages' scripts cannot read. `Secure` is kept even for `npm start` on http://localhost: browsers treat localhost as
 * a secure context and accept it there. No `__Host-` prefix, since not every browser honours one on plain-http
 * localhost; `Path=/` and no `Domain` give the same host-only scope.
 */
export const SESSION_COOKIE = "remo_session";

/** A browser stays signed in this long; the key itself does not expire server-side (logout revokes it). */
export const SESSION_MAX_AGE_SECONDS = 30 * 24 * 3600;

const ATTRIBUTES = { path: "/", secure: true, httpOnly: true, sameSite: "Lax" } as const;

export function readSessionCookie(c: Context<AppEnv>): string | null {
  const value = getCookie(c, SESSION_COOKIE);
  return value ? value : null;
}

export function setSessionCookie(c: Context<AppEnv>, key: string) {
  setCookie(c, SESSION_COOKIE, key, { ...ATTRIBUTES, maxAge: SESSION_MAX_AGE_SECONDS });
}

export function clearSessionCookie(c: Context<AppEnv>) {
  deleteCookie(c, SESSION_COOKIE, ATTRIBUTES);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export const isSafeMethod = (method: string) => SAFE_METHODS.has(method.toUpperCase());

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * CSRF guard for requests a browser authenticates by cookie: SameSite=Lax still lets a cross-site page's top-level
 * form POST set a cookie, and older browsers send Lax cookies on more than that, so an unsafe request must also say
 * it comes from this Worker's own origin. `Origin` is sent by browsers on every POST/PUT/PATCH/DELETE; `Referer` is
 * the fallback where a privacy setting drops it. Neither, or `Origin: null`, is refused.
 */
export function assertSameOrigin(c: Context<AppEnv>) {
  const self = originOf(c.req.url);
  const origin = c.req.header("origin");
  const referer = c.req.header("referer");
  const claimed = origin ? (origin === "null" ? null : originOf(origin)) : referer ? originOf(referer) : null;
  if (!claimed || claimed !== self)
    throw forbidden(
      "Cross-site request refused: a request authenticated by the session cookie must come from this server's own " +
        "pages (its Origin or Referer must be this server's origin). API clients send an Authorization header instead.",
    );
}
