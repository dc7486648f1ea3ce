import { z } from "@hono/zod-openapi";

const TRUE = new Set(["true", "True", "1"]);
const FALSE = new Set(["false", "False", "0"]);

/** Booleans as Remo clients send them: true/false/True/False/1/0 (and real booleans in JSON). Anything else is a 400. */
export const boolParam = z
  .union([z.boolean(), z.string(), z.number()])
  .transform((v, ctx) => {
    if (typeof v === "boolean") return v;
    if (v === 1 || v === 0) return v === 1;
    if (typeof v === "string" && TRUE.has(v)) return true;
    if (typeof v === "string" && FALSE.has(v)) return false;
    ctx.addIssue({ code: "custom", message: "must be one of true, false, True, False, 1, 0" });
    return z.NEVER;
  })
  .openapi({ type: "boolean" });

/** An optional boolean query parameter. */
export const queryBool = boolParam.optional();

/** A positive integer id from a path or query string ("12"); anything else is a 400 naming the field. */
export const idParam = z.coerce
  .number({ message: "must be an integer id" })
  .int({ message: "must be an integer id" })
  .positive({ message: "must be a positive integer id" })
  .openapi({ type: "integer", example: 1 });

export const IdPath = z.object({ id: idParam.openapi({ param: { name: "id", in: "path" } }) });
