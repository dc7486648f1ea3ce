import { z } from "@hono/zod-openapi";

export const StoreCopyRequest = z
  .object({
    dataset_id: z.number().int().positive().optional().openapi({ description: "One dataset; omitted: every dataset" }),
  })
  .strict()
  .openapi("StoreCopyRequest");

export const StoreCopyQueued = z.object({ queued: z.union([z.literal("all"), z.number().int()]) }).openapi("StoreCopyQueued");

const Counts = z.record(z.string(), z.number().int());
const CopyState = z.enum(["copying", "verified", "mismatch", "failed", "switching", "switched", "pruned"]);
const Store = z.enum(["d1", "frozen", "object"]);

export const StoreCopyStatus = z
  .object({
    dataset_id: z.number().int(),
    state: CopyState.nullable(),
    store: Store.openapi({ description: "Where the dataset is served from now" }),
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

export const StoreSwitchAllQueued = z.object({ queued: z.literal("all") }).openapi("StoreSwitchAllQueued");

export const StoreListQuery = z.object({
  store: Store.optional().openapi({ description: "Only datasets served from there" }),
  state: z
    .union([CopyState, z.literal("none")])
    .optional()
    .openapi({ description: "Only datasets in this copy or switch state (`none`: never copied)" }),
  after_id: z.coerce.number().int().nonnegative().default(0).openapi({ description: "The previous page's next_after_id" }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const StoreList = z
  .object({
    stores: Counts.openapi({ description: "Datasets by where they are served from: d1, frozen, object" }),
    states: Counts.openapi({ description: "Datasets by copy or switch state; `none`: never copied" }),
    datasets: z.array(
      z.object({
        dataset_id: z.number().int(),
        name: z.string(),
        store: Store,
        state: CopyState.nullable(),
        updated_at: z.string().nullable(),
      }),
    ),
    next_after_id: z.number().int().nullable(),
  })
  .openapi("StoreList");
