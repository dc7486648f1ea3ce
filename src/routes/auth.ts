import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { createRouter } from "../lib/router";
import { parseOr400 } from "../lib/validation";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { KeyResponse, LoginBody, SignupBody, SignupResponse, User } from "../schemas/auth";
import { assertSameOrigin, clearSessionCookie, readSessionCookie, setSessionCookie } from "../lib/session-cookie";
import { issueKey, login, logout, revokeKey, serializeUser, signup, verifyCredentials } from "../services/auth";

export const authRoutes = createRouter();

function formOrJsonBody(c: Context<AppEnv>): unknown {
  const ct = c.req.header("content-type") ?? "";
  return ct.includes("json") ? c.req.valid("json" as never) : c.req.valid("form" as never);
}

/**
 * Starts a browser session with a new key: same-origin only (else a cross-site form could sign a victim into the
 * attacker's account), and the key the browser held before, if any, is revoked rather than orphaned.
 */
async function startBrowserSession(c: Context<AppEnv>, key: string) {
  const previous = readSessionCookie(c);
  if (previous) await revokeKey(c.var.db, previous);
  setSessionCookie(c, key);
  c.header("cache-control", "no-store");
}

// Not `required`: the route reads whichever of JSON or form the content type says, then validates it.
const formOrJson = <T>(schema: T) => ({
  required: false,
  content: {
    "application/json": { schema },
    "application/x-www-form-urlencoded": { schema },
    "multipart/form-data": { schema },
  },
});

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/rest-auth/login",
    tags: ["auth"],
    summary: "Log in with email and password (JSON or form); answers a new API key, or starts a browser session",
    request: { body: formOrJson(LoginBody) },
    responses: {
      200: jsonContent(
        z.union([KeyResponse, User]),
        "`{key}`, the key to send as `Authorization: Token <key>`; with `session=cookie`, the user, the key being in " +
          "the `remo_session` cookie only",
      ),
      400: errorResponses[400],
      403: { ...errorResponses[403], description: "`session=cookie` from another origin" },
    },
  }),
  async (c) => {
    const body = parseOr400(LoginBody, formOrJsonBody(c), "body");
    if (body.session !== "cookie") return c.json({ key: await login(c.var.db, body) }, 200);
    assertSameOrigin(c);
    const user = await verifyCredentials(c.var.db, body);
    await startBrowserSession(c, await issueKey(c.var.db, user.id));
    return c.json(serializeUser(user), 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/signup",
    tags: ["auth"],
    summary: "Create a user (only while ALLOW_SIGNUP is true); answers the user and a key, or starts a browser session",
    request: { body: formOrJson(SignupBody) },
    responses: {
      201: jsonContent(
        z.union([SignupResponse, User]),
        "The new user and its first key; with `session=cookie`, the user alone, the key being in the cookie only",
      ),
      400: errorResponses[400],
      403: errorResponses[403],
      409: { ...errorResponses[400], description: "Email already registered" },
    },
  }),
  async (c) => {
    const body = parseOr400(SignupBody, formOrJsonBody(c), "body");
    if (body.session === "cookie") assertSameOrigin(c);
    const { user, key } = await signup({ db: c.var.db, env: c.env }, body);
    if (body.session !== "cookie") return c.json({ ...user, key }, 201);
    await startBrowserSession(c, key);
    return c.json(user, 201);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/rest-auth/logout",
    tags: ["auth"],
    security,
    summary: "Revoke the key this request was made with (a browser session's cookie is also cleared)",
    responses: {
      200: jsonContent(z.object({ detail: z.string() }), "Logged out"),
      401: errorResponses[401],
      403: { ...errorResponses[403], description: "Cookie-authenticated and not from this server's origin" },
    },
  }),
  async (c) => {
    await logout(c.var.db, c.var.user);
    if (c.var.authVia === "cookie") clearSessionCookie(c);
    return c.json({ detail: "Successfully logged out." }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "get",
    path: "/api/user-info",
    tags: ["auth"],
    security,
    summary: "Who the key belongs to",
    responses: { 200: jsonContent(User, "The caller"), 401: errorResponses[401] },
  }),
  (c) => c.json(serializeUser(c.var.user), 200),
);
