import { z } from "@hono/zod-openapi";

export const ErrorBody = z
  .object({
    error: z.string(),
    errors: z.array(z.string()),
    detail: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    request_id: z.string(),
  })
  .openapi("Error");

const err = (description: string) => ({ description, content: { "application/json": { schema: ErrorBody } } });

/** The error statuses every authenticated route may answer, for the OpenAPI document. */
export const errorResponses = {
  400: err("Bad input: the message and `issues` name the field"),
  401: err("No key, or a bad one"),
  403: err("Not allowed (e.g. writing to another user's public dataset)"),
  404: err("Not found, or not yours"),
} as const;

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({
    count: z.number().int(),
    next: z.string().nullable().openapi({ description: "relative URL of the next page" }),
    previous: z.string().nullable().openapi({ description: "relative URL of the previous page" }),
    results: z.array(item),
  });

export const security: Record<string, string[]>[] = [{ Token: [] }, { Bearer: [] }, { Session: [] }];
