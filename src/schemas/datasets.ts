import { z } from "@hono/zod-openapi";
import { boolParam } from "../lib/params";
import { PageQuery } from "../lib/pagination";

const name = z.string().trim().min(1, "must not be empty").max(255);

export const CreateDatasetBody = z
  .object({
    name: z.string().trim().max(255).optional(),
    is_public: boolParam.optional(),
    license: z.string().max(1000).nullable().optional(),
  })
  .openapi("CreateDataset");

export const UpdateDatasetBody = z
  .object({
    name: name.optional(),
    is_archived: boolParam.optional(),
    is_public: boolParam.optional(),
    license: z.string().max(1000).nullable().optional(),
  })
  .strict()
  .openapi("UpdateDataset");

export const DatasetListQuery = PageQuery.extend({
  is_public: boolParam.optional(),
  is_archived: boolParam.optional(),
});

export const DatasetItem = z
  .object({
    id: z.number().int(),
    name: z.string(),
    owner: z.string(),
    is_archived: z.boolean(),
    image_thumbnails: z.array(z.string()),
    quantity: z.number().int(),
    size_in_bytes: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    license: z.string().nullable(),
    is_public: z.boolean(),
    is_readonly: z.boolean(),
  })
  .openapi("DatasetListItem");

const ClassCount = z.object({ name: z.string(), count: z.number() });

export const DatasetDetail = DatasetItem.extend({
  annotation_sets: z.array(z.object({ id: z.number().int(), name: z.string(), task: z.string() })),
  users_shared: z.array(z.number().int()),
  top3_classes: z.array(ClassCount),
  total_classes: z.number().int(),
  total_annotation_objects: z.number().int(),
}).openapi("Dataset");

export const LegacyDatasetItem = z
  .object({
    id: z.number().int(),
    name: z.string(),
    image_thumbnails: z.array(z.record(z.string(), z.unknown())),
    quantity: z.number().int(),
    size_in_bytes: z.number().int(),
    created_at: z.string(),
    license: z.string().nullable(),
    is_public: z.boolean(),
    users_shared: z.array(z.number().int()),
    top3_classes: z.array(ClassCount),
    total_classes: z.number().int(),
  })
  .openapi("LegacyDatasetListItem");
