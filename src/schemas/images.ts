import { z } from "@hono/zod-openapi";
import { idParam } from "../lib/params";
import { MAX_LIMIT } from "../lib/pagination";
import { SearchFilterFields } from "./folders";

const p = (name: string) => idParam.openapi({ param: { name, in: "path" } });
export const DatasetImagePath = z.object({ id: p("id"), image_id: p("image_id") });

/** Without `limit` the SDK list returns every image (streamed). */
export const SdkImagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
  offset: z.coerce.number().int().min(0).default(0),
});

export const SdkImage = z
  .object({
    id: z.number().int(),
    name: z.string(),
    dataset_id: z.number().int(),
    url: z.string(),
    path: z.string().nullable(),
    size: z.number().int(),
    width: z.number().int(),
    height: z.number().int(),
    upload_date: z.string(),
  })
  .openapi("SdkImage");

export const ShortImage = z
  .object({ id: z.number().int(), name: z.string(), thumbnail: z.string(), annotates_count: z.number().int() })
  .openapi("DatasetImageShort");

export const ImageDetail = z
  .object({
    id: z.number().int(),
    original: z.string(),
    image: z.string(),
    view: z.string(),
    name: z.string(),
    dataset: z.object({ id: z.number().int(), name: z.string(), created_at: z.string(), is_public: z.boolean() }),
    dimensions: z.array(z.number().int()),
    view_dimensions: z.array(z.number().int()),
    image_dimensions: z.array(z.number().int()),
    status: z.string(),
    annotations: z.array(z.unknown()),
  })
  .openapi("DatasetImage");

export const GlobalSearchQuery = z.object({
  ...SearchFilterFields,
  dataset_id: idParam.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(32),
});
