import { MAX_NAME_LENGTH } from "../lib/names";
import { z } from "@hono/zod-openapi";
import { idParam } from "../lib/params";
import { PageQuery } from "../lib/pagination";

const nameField = z
  .string({ message: "must be a string" })
  .max(MAX_NAME_LENGTH, { message: `a name is at most ${MAX_NAME_LENGTH} characters` });

/** Remo's create body; `annotation_task` is parsed as Remo does (any case, `_`/`-`/spaces), checked by the route. */
export const CreateSetBody = z
  .object({
    annotation_task: z.union([z.string(), z.number()]).openapi({ example: "Object detection" }),
    dataset_id: idParam,
    name: nameField,
    classes: z
      .array(
        z
          .string({ message: "must be a list of strings" })
          .max(MAX_NAME_LENGTH, `a class name is at most ${MAX_NAME_LENGTH} characters`),
        { message: "must be a list of strings" },
      )
      .default([]),
  })
  .openapi("CreateAnnotationSet");

/** The deprecated `/api/annotation-set/` body: task and dataset by id, existing classes by name. */
export const LegacyCreateSetBody = z
  .object({
    name: nameField,
    task: z.union([z.string(), z.number()]),
    dataset: idParam,
    classes: z.array(z.object({ name: z.string() })).default([]),
  })
  .openapi("LegacyCreateAnnotationSet");

export const RenameSetBody = z.object({ name: nameField }).openapi("RenameAnnotationSet");

export const SetPath = z.object({ id: idParam.openapi({ param: { name: "id", in: "path" } }) });

export const InsightsQuery = z.object({ split_by_tags: z.string().optional(), classes_all: z.string().optional() });

export const SetListQuery = PageQuery;

const IdName = z.object({ id: z.number().int(), name: z.string() });
const Task = z.object({ id: z.number().int(), name: z.string(), type: z.string() });
const ClassCount = z.object({ name: z.string(), count: z.number() });

export const CreatedSet = z
  .object({
    id: z.number().int(),
    name: z.string(),
    task: z.string(),
    dataset_id: z.number().int(),
    classes: z.array(IdName),
  })
  .openapi("CreatedAnnotationSet");

export const SetStatistics = z.object({
  annotated_images_count: z.number().int(),
  done_count: z.number().int(),
  skipped_count: z.number().int(),
  todo_count: z.number().int(),
  top3_classes: z.array(ClassCount),
  all_classes: z.array(ClassCount),
  tags: z.array(z.string()),
  total_classes: z.number().int(),
  total_annotation_objects: z.number().int(),
  images_without_annotations: z.number().int(),
});

export const SetListItem = z
  .object({
    id: z.number().int(),
    name: z.string(),
    released_at: z.string().nullable(),
    updated_at: z.string(),
    task: Task,
    total_images: z.number().int(),
    last_annotated_date: z.string().nullable(),
    is_public: z.boolean(),
    is_completed: z.boolean(),
    statistics: SetStatistics,
  })
  .openapi("AnnotationSetListItem");

export const SetDetail = z
  .object({
    id: z.number().int(),
    name: z.string(),
    released_at: z.string().nullable(),
    updated_at: z.string(),
    task: Task.extend({ available_tools: z.array(z.string()) }),
    dataset: z.record(z.string(), z.unknown()),
    dataset_id: z.number().int(),
    last_annotated_date: z.string().nullable(),
    classes: z.array(IdName),
    is_last_modified: z.boolean(),
    type: z.string(),
    is_public: z.boolean(),
  })
  .openapi("AnnotationSet");

export const Insights = z
  .object({
    total_annotated_images: z.number().int(),
    total_annotation_objects: z.number().int(),
    results: z.array(z.record(z.string(), z.unknown())),
  })
  .openapi("AnnotationSetInsights");

export { IdName };
