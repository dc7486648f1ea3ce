import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env";
import { validationError } from "./validation";

/** Every router: trailing slashes optional (Remo clients send them), zod failures become our 400. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === "json" || result.target === "form" ? "body" : result.target);
    },
  });
}
