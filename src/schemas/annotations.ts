import { MAX_NAME_LENGTH } from "../lib/names";
import { z } from "@hono/zod-openapi";
import { boolParam, idParam } from "../lib/params";

const p = (name: string) => idParam.openapi({ param: { name, in: "path" } });

export const LegacyImagePath = z.object({ ds: p("ds"), set: p("set"), img: p("img") });
export const SetImagePath = z.object({ set: p("set"), img: p("img") });

const Point = z.object({ x: z.number({ message: "must be a number" }), y: z.number({ message: "must be a number" }) });
const ClassName = z.string().max(MAX_NAME_LENGTH, `a class name is at most ${MAX_NAME_LENGTH} characters`);
const ClassRef = z.union([
  ClassName,
  z
    .object({
      name: ClassName,
      lower: z.string().optional(),
      questionable: z.boolean().optional(),
      score: z.number().nullable().optional(),
    })
    .loose(),
]);

export const SaveObject = z
  .object({
    name: z.string().optional(),
    kind: z
      .enum(["bbox", "polygon"])
      .optional()
      .openapi({ description: "native: say it is a polygon (needs >= 3 points)" }),
    coordinates: z.array(Point).min(2, "needs at least 2 points"),
    classes: z.array(ClassRef).default([]),
  })
  .loose();

/** Remo's save-annotation body (and the native PUT): objects for detection/segmentation, classes for classification. */
export const SaveAnnotationBody = z
  .object({
    objects: z.array(SaveObject).optional(),
    classes: z.array(ClassRef).optional(),
    status: z.string().optional(),
    skip_new_classes: boolParam.optional(),
  })
  .loose()
  // Saving replaces the image's objects: a body with neither list (a mistyped key, `annotation_info` sent back)
  // would silently wipe them, so it is a 400; an explicit empty list still clears.
  .refine((b) => b.objects !== undefined || b.classes !== undefined, {
    message: "give `objects` (detection, segmentation) or `classes` (classification); an empty list clears the image",
    path: ["objects"],
  })
  .openapi("SaveAnnotation");

export const StatusBody = z.object({ status: z.string().optional() }).openapi("AnnotationStatus");

const ObjectInfo = z.object({
  name: z.string(),
  coordinates: z.array(z.object({ x: z.number(), y: z.number() })),
  auto_created: z.boolean(),
  position_number: z.number().int(),
  classes: z.array(z.object({ name: z.string(), lower: z.string(), questionable: z.boolean() })),
});
const ClassInfo = z.object({
  name: z.string(),
  lower: z.string(),
  questionable: z.boolean(),
  score: z.number().optional(),
});
export const AnnotationInfo = z.array(z.union([ObjectInfo, ClassInfo]));

export const AnnotationRead = z
  .object({ error: z.boolean(), annotation_info: AnnotationInfo, status: z.string() })
  .openapi("ImageAnnotation");

export const SavedAnnotation = z
  .object({
    id: z.number().int(),
    image: z.number().int(),
    annotation_set: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    status: z.string(),
    annotation_info: AnnotationInfo,
  })
  .openapi("SavedAnnotation");
