import { z } from "@hono/zod-openapi";
import { boolParam, idParam } from "../lib/params";
import { PageQuery } from "../lib/pagination";

export const DatasetFolderPath = z.object({
  id: idParam.openapi({ param: { name: "id", in: "path" } }),
  folder_id: idParam.openapi({ param: { name: "folder_id", in: "path" } }),
});

export const CreateFolderBody = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(255),
    parent_folder_id: z.union([idParam, z.null()]).optional(),
  })
  .openapi("CreateFolder");

export const UpdateFolderBody = z
  .object({
    name: z.string().trim().min(1, "must not be empty").max(255).optional(),
    parent_folder_id: z.union([idParam, z.null()]).optional(),
  })
  .strict()
  .openapi("UpdateFolder");

export const DeleteFolderQuery = z.object({ recursive: boolParam.optional() });

export const Folder = z
  .object({
    id: z.number().int(),
    name: z.string(),
    dataset_id: z.number().int(),
    parent_folder_id: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Folder");

/** Remo's search filters (comma lists) and cursor, shared by the contents search mode and the global search. */
export const SearchFilterFields = {
  classes: z.string().optional(),
  classes_not: z.string().optional(),
  tags: z.string().optional(),
  tags_not: z.string().optional(),
  tasks: z.string().optional(),
  tasks_not: z.string().optional(),
  image_name: z.string().optional(),
  sets: z.string().optional(),
  image_id: z.string().optional(),
  direction: z.enum(["next", "prev"]).optional(),
};

/** Search parameters turn a contents listing into Remo's search; they are read by the search service. */
export const ContentsQuery = PageQuery.extend(SearchFilterFields);

const ContentsFolder = Folder.extend({
  preview: z.string().nullable(),
  total_images: z.number().int(),
  top3_classes: z.array(z.object({ name: z.string(), count: z.number() })),
  total_classes: z.number().int(),
});

const Point = z.object({ x: z.number(), y: z.number() });
export const ContentsAnnotation = z.object({
  annotation_set_id: z.number().int(),
  coordinates: z.array(z.array(Point)),
  classes: z.array(z.string()),
  object_classes: z.array(z.array(z.string())),
  tags: z.array(z.string()),
});

export const ContentsImage = z.object({
  id: z.number().int(),
  name: z.string(),
  view: z.string(),
  preview: z.string(),
  url: z.string(),
  annotations: z.array(z.unknown()),
  dimensions: z.array(z.number().int()),
  size_in_bytes: z.number().int(),
  created_at: z.string(),
});

export const ContentsItem = z
  .object({
    record_type: z.enum(["folder", "image"]),
    folder: ContentsFolder.nullable(),
    image: ContentsImage.nullable(),
  })
  .openapi("ContentsItem");
