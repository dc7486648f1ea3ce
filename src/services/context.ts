import type { Context } from "hono";
import type { AppEnv, AuthUser, Env } from "../env";
import type { Db } from "../db/client";

/** What every service verb takes: the db, the bindings, the caller. Services scope every query to `user`. */
export interface ServiceCtx {
  db: Db;
  env: Env;
  user: AuthUser;
  requestId: string;
}

export function serviceCtx(c: Context<AppEnv>): ServiceCtx {
  return { db: c.var.db, env: c.env, user: c.var.user, requestId: c.var.requestId };
}
