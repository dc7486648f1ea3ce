import { z } from "@hono/zod-openapi";
import { idParam } from "../lib/params";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../lib/pagination";

const p = (name: string) => idParam.openapi({ param: { name, in: "path" } });

export const GalleryPath = z.object({ ds: p("ds"), set: p("set") });
export const SetImagesPath = z.object({ set: p("set") });

/** Remo's gallery groups, as `order` names them (`annotated` is the status `done`). */
export const GALLERY_GROUPS = ["not_annotated", "skipped", "annotated"] as const;
export type GalleryGroup = (typeof GALLERY_GROUPS)[number];

export const GalleryQuery = z.object({
  order: z.enum(GALLERY_GROUPS).default("not_annotated").openapi({
    description:
      "the group listed first: not_annotated → not_annotated, skipped, annotated; skipped → skipped, not_annotated, annotated; annotated → annotated, skipped, not_annotated (Remo's orders)",
  }),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).openapi({ example: DEFAULT_LIMIT }),
  image_id: idParam.optional().openapi({ description: "the anchor image (must be in the set's dataset, else 404)" }),
  direction: z.enum(["next", "prev"]).optional().openapi({
    description: "with image_id: the `limit` images after (next) or before (prev) it; without: a page around it",
  }),
  image_status: z
    .enum([...GALLERY_GROUPS, "done"])
    .optional()
    .openapi({
      description:
        "native: the group the anchor is placed in (default: its status now). Send the status the tool showed, so marking an image done does not move the cursor to the annotated group; `next`/`previous` links carry it",
    }),
  tracker_id: idParam.optional().openapi({
    description: "accepted and ignored: Remo's server-side cursor; ours is stateless (image_id + image_status)",
  }),
});
export type GalleryQuery = z.infer<typeof GalleryQuery>;

/** One image of a set, as both lists give it (Remo's AnnotationSetImageSerializer, URLs as the other image lists). */
export const SetImage = z
  .object({
    id: z.number().int(),
    name: z.string(),
    dataset_id: z.number().int(),
    width: z.number().int(),
    height: z.number().int(),
    dimensions: z.array(z.number().int()).openapi({ description: "[width, height]" }),
    size_in_bytes: z.number().int(),
    status: z.enum(["not_annotated", "skipped", "done"]).openapi({ description: "the image's status in this set" }),
    annotates_count: z
      .number()
      .int()
      .openapi({ description: "objects (detection, segmentation) or image classes (classification) in this set" }),
    objects_count: z.number().int(),
    tags_count: z.number().int(),
    classes: z.array(z.string()).openapi({ description: "distinct class names used on the image in this set, sorted" }),
    image: z.string().openapi({ description: "signed URL of the original bytes" }),
    original: z.string().openapi({ description: "signed URL of the original bytes" }),
    view: z.string().openapi({ description: "signed URL of a JPEG, longest side 2048" }),
    preview: z.string().openapi({ description: "signed URL of a JPEG, longest side 512" }),
    thumbnail: z.string().openapi({ description: "signed URL of a JPEG, longest side 256" }),
  })
  .openapi("AnnotationSetImage");
export type SetImage = z.infer<typeof SetImage>;

export const GalleryPage = z
  .object({
    count: z.number().int().openapi({ description: "images in the dataset" }),
    not_annotated_count: z.number().int(),
    skipped_count: z.number().int(),
    annotated_count: z.number().int(),
    next: z.string().nullable().openapi({
      description: "relative URL of the images after the last result (image_id, direction=next, image_status)",
    }),
    previous: z.string().nullable().openapi({ description: "relative URL of the images before the first result" }),
    results: z.array(SetImage),
  })
  .openapi("AnnotationGallery");
