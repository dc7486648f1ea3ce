import { z } from "@hono/zod-openapi";

export const StoreCopyRequest = z
  .object({
    dataset_id: z.number().int().positive().optional().openapi({ description: "One dataset; omitted: every dataset" }),
  })
  .strict()
  .openapi("StoreCopyRequest");

export const StoreCopyQueued = z.object({ queued: z.union([z.literal("all"), z.number().int()]) }).openapi("StoreCopyQueued");

const Counts = z.record(z.string(), z.number().int());

export const StoreCopyStatus = z
  .object({
    dataset_id: z.number().int(),
    state: z.enum(["copying", "verified", "mismatch", "failed", "switching", "switched"]).nullable(),
    store: z.enum(["d1", "frozen", "object"]).openapi({ description: "Where the dataset is served from now" }),
    rows_copied: z.number().int(),
    passes: z.number().int(),
    detail: z.unknown(),
    updated_at: z.string().nullable(),
    counts: z.object({
      equal: z.boolean(),
      d1: Counts,
      store: z.object({ tables: Counts, bytes: z.number().int() }),
    }),
  })
  .openapi("StoreCopyStatus");

export const StoreSwitchStarted = z
  .object({ dataset_id: z.number().int(), store: z.literal("frozen") })
  .openapi("StoreSwitchStarted");
