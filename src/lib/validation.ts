import type { z } from "zod";
import { ApiError, type Issue } from "./errors";

export function zodIssues(error: z.ZodError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

/** A zod failure as our 400, naming each field. */
export function validationError(error: z.ZodError, where?: string): ApiError {
  const issues = zodIssues(error);
  const first = issues[0];
  const message = first
    ? `Invalid ${where ?? "input"}: ${first.path ? `${first.path}: ` : ""}${first.message}`
    : `Invalid ${where ?? "input"}`;
  return new ApiError("BAD_REQUEST", message, { issues });
}

/** Parse with a schema or throw our 400. For inputs that do not come through a route's declared schema. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, where?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationError(r.error, where);
  return r.data;
}
