import { z } from "@hono/zod-openapi";

const FileReport = z.object({
  filename: z.string(),
  errors: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});
const Counts = z.object({
  pending: z.number().int(),
  total: z.number().int(),
  successful: z.number().int(),
  failed: z.number().int(),
  errors: z.array(FileReport),
  warnings: z.array(FileReport),
});
const Size = z.object({ items: z.number().int(), size: z.number().int(), human_size: z.string() });

/** Remo's UploadSessionStatus.to_dict (remo-reference §2.3). */
export const UploadSession = z
  .object({
    session_id: z.string(),
    created_at: z.string(),
    finished_at: z.string().nullable(),
    dataset: z.object({ id: z.number().int(), name: z.string() }),
    status: z.enum(["not complete", "pending", "in progress", "done", "failed"]),
    substatus: z.string(),
    images: Counts,
    annotations: Counts,
    errors: z.array(z.object({ type: z.string(), value: z.string().optional(), error: z.string() })),
    warnings: z.array(z.object({ type: z.string(), value: z.string().optional(), warning: z.string() })),
    uploaded: z.object({ total: Size, images: Size, annotations: Size, archives: Size }),
  })
  .openapi("UploadSession");

export const CreateSessionBody = z
  .object({ dataset_id: z.coerce.number().int().positive() })
  .openapi("CreateUploadSession");
export const SessionIdPath = z.object({
  sid: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "sid", in: "path" } }),
});
export const SessionListQuery = z.object({ show_active: z.string().optional() });
export const SessionIdBody = z.object({ session_id: z.string() });

export const UploadFields = z
  .object({
    session_id: z.string().optional(),
    complete: z.union([z.boolean(), z.string()]).optional(),
    annotation_task: z.string().optional(),
    annotation_set_name: z.string().optional(),
    folder_id: z.union([z.number(), z.string()]).optional(),
    skip_new_classes: z.union([z.boolean(), z.string()]).optional(),
    class_encoding: z.unknown().optional(),
    urls: z.array(z.string()).optional(),
    local_files: z
      .array(z.string())
      .openapi({
        description:
          "R2 keys, or prefixes ending in `/`, in the project's bucket (linked, not copied). Under `npm start`, absolute " +
          "paths are files or folders on the user's disk under LOCAL_FILES_ROOT (read through the local file service, copied)",
      })
      .optional(),
  })
  .openapi("UploadJson");

export const DirectUploadBody = z
  .object({
    files: z
      .array(
        z.object({
          name: z.string().min(1).max(1024),
          size: z.number().int().nonnegative(),
          content_type: z.string().max(200).optional(),
          sha256: z
            .string()
            .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters")
            .optional(),
        }),
      )
      .min(1)
      .max(1000),
  })
  .openapi("DirectUploadRequest");

export const DirectUploadReply = z.object({
  session_id: z.string(),
  files: z.array(
    z.object({
      name: z.string(),
      status: z.enum(["exists", "upload"]),
      item_id: z.number().int().optional(),
      method: z.literal("PUT").optional(),
      url: z.string().optional(),
      presigned: z.boolean().optional(),
    }),
  ),
});

export const BlobPath = z.object({
  sid: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "sid", in: "path" } }),
  n: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "n", in: "path" } }),
});
