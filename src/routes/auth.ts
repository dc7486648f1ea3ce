import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import { createRouter } from "../lib/router";
import { parseOr400 } from "../lib/validation";
import { errorResponses, jsonContent, security } from "../schemas/common";
import { KeyResponse, LoginBody, SignupBody, SignupResponse, User } from "../schemas/auth";
import { login, logout, serializeUser, signup } from "../services/auth";

export const authRoutes = createRouter();

function formOrJsonBody(c: Context<AppEnv>): unknown {
  const ct = c.req.header("content-type") ?? "";
  return ct.includes("json") ? c.req.valid("json" as never) : c.req.valid("form" as never);
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
    summary: "Log in with email and password (JSON or form); answers a new API key",
    request: { body: formOrJson(LoginBody) },
    responses: { 200: jsonContent(KeyResponse, "The key to send as `Authorization: Token <key>`"), 400: errorResponses[400] },
  }),
  async (c) => {
    return c.json({ key: await login(c.var.db, parseOr400(LoginBody, formOrJsonBody(c), "body")) }, 200);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/signup",
    tags: ["auth"],
    summary: "Create a user (only while ALLOW_SIGNUP is true); answers the user and a key",
    request: { body: formOrJson(SignupBody) },
    responses: {
      201: jsonContent(SignupResponse, "The new user and its first key"),
      400: errorResponses[400],
      403: errorResponses[403],
      409: { ...errorResponses[400], description: "Email already registered" },
    },
  }),
  async (c) => {
    const body = parseOr400(SignupBody, formOrJsonBody(c), "body");
    const { user, key } = await signup({ db: c.var.db, env: c.env }, body);
    return c.json({ ...user, key }, 201);
  },
);

authRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/rest-auth/logout",
    tags: ["auth"],
    security,
    summary: "Revoke the key this request was made with",
    responses: { 200: jsonContent(z.object({ detail: z.string() }), "Logged out"), 401: errorResponses[401] },
  }),
  async (c) => {
    await logout(c.var.db, c.var.user);
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
