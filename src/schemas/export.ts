import { z } from "@hono/zod-openapi";

const param = (description: string, example?: string) => z.string().optional().openapi({ description, example });

/**
 * Documentation of the export query. Values are checked by the service, not here, so a bad one gets Remo's own
 * 400 text ("Exporter parameter <name> can be: ...") rather than the generic validation message.
 */
export const ExportQuery = z.object({
  annotation_format: param("json (default) | coco | csv | yolo (zip) | voc (zip)", "json"),
  export_coordinates: param("pixel (default) | percent (fractions 0..1)", "pixel"),
  full_path: param("true | false (default): linked images are named by their R2 key", "false"),
  export_tags: param("true | false (default): a zip with the file and tags.csv", "false"),
  export_without_annotations: param("true | false (default): also images without annotations", "false"),
  export_classes: param("true | false: accepted, unused (as in Remo)"),
  filter_by_tags: param("comma list: keep images with any of these tags", "train,valid"),
  class_encoding: param("autodetect | WordNet | GoogleKnowledgeGraph: accepted; names are exported as stored"),
});

export const CountQuery = z.object({ filter_by_tags: ExportQuery.shape.filter_by_tags });

export const Job = z
  .object({
    id: z.number().int(),
    kind: z.string().openapi({ example: "export" }),
    status: z.enum(["queued", "running", "done", "failed"]),
    progress: z.object({ done: z.number().int(), total: z.number().int() }),
    error: z.string().nullable(),
    download_url: z.string().nullable().openapi({ description: "relative, signed until expires_at; Range supported" }),
    expires_at: z.string().nullable(),
    file_name: z.string().nullable(),
    size: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Job");

export const JobCreated = z.object({ job: Job });
