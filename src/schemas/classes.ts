import { MAX_NAME_LENGTH } from "../lib/names";
import { z } from "@hono/zod-openapi";
import { idParam } from "../lib/params";
import { PageQuery } from "../lib/pagination";

const p = (name: string) => idParam.openapi({ param: { name, in: "path" } });

export const NameBody = z
  // The max check names its own message: a schema-level `message` would answer "must be a string" for a long one too.
  .object({
    name: z
      .string({ message: "must be a string" })
      .max(MAX_NAME_LENGTH, { message: `a name is at most ${MAX_NAME_LENGTH} characters` }),
  })
  .openapi("NameBody");
export const IdNameItem = z.object({ id: z.number().int(), name: z.string() }).openapi("IdName");
export const CommonClassQuery = PageQuery.extend({ autocomplete: z.string().optional() });
export const SetClassPath = z.object({ id: p("id"), class_id: p("class_id") });
export const SetPathOnly = z.object({ id: p("id") });
export const SetTagPath = z.object({ id: p("id"), tag_id: p("tag_id") });
export const ImageTagsPath = z.object({ set: p("set"), image: p("image") });
export const ImageTagPath = z.object({ set: p("set"), image: p("image"), tag_id: p("tag_id") });
export const ImageTag = z
  .object({ id: z.number().int(), name: z.string(), annotation_set: z.number().int(), image: z.number().int() })
  .openapi("ImageTag");
