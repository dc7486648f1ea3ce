import { z } from "zod";

/**
 * Every queue message, by `type`. Feature modules add their message schema here; the consumer (jobs/index.ts)
 * dispatches on `type` to the handler registered in jobs/handlers.ts.
 */
export const GcBlobsMessage = z.object({ type: z.literal("gc-blobs") });
// Uploads (issue 3): a session fans out into one message per received item (and per slice of a big archive).
export const IngestSessionMessage = z.object({ type: z.literal("ingest-session"), sessionId: z.string() });
export const IngestItemMessage = z.object({ type: z.literal("ingest-item"), sessionId: z.string(), itemId: z.number().int(), from: z.number().int().default(0) });
export const IngestAnnotationsMessage = z.object({ type: z.literal("ingest-annotations"), sessionId: z.string(), itemId: z.number().int() });
export const ExpireUploadsMessage = z.object({ type: z.literal("expire-uploads") });

// Exports (issue 5): one message per export job; the sweep of expired export files (cron).
export const ExportMessage = z.object({ type: z.literal("export"), jobId: z.number().int() });
export const ExpireExportsMessage = z.object({ type: z.literal("expire-exports") });

// Images (issue 6): build one image's deep-zoom pyramid in R2.
export const BuildPyramidMessage = z.object({ type: z.literal("build-pyramid"), imageId: z.number().int() });

// Per-dataset Durable Objects (issue 13): a deleted dataset's object data, when deleting it inline failed.
export const DestroyDatasetStoreMessage = z.object({ type: z.literal("destroy-dataset-store"), datasetId: z.number().int() });
// The one-time D1 → DatasetStore copy: one message per dataset (re-enqueued per pass), and the fan-out over all.
export const CopyDatasetStoreMessage = z.object({ type: z.literal("copy-dataset-store"), datasetId: z.number().int() });
// The switch-over: copy a frozen dataset afresh, check it, and route it to its object.
export const SwitchDatasetStoreMessage = z.object({ type: z.literal("switch-dataset-store"), datasetId: z.number().int(), fresh: z.boolean().default(false) });
// After a switch-over: drop D1's stale copy of the dataset's rows, in passes.
export const PruneDatasetD1Message = z.object({ type: z.literal("prune-dataset-d1"), datasetId: z.number().int() });
export const CopyDatasetStoresMessage = z.object({ type: z.literal("copy-dataset-stores"), afterId: z.number().int().default(0) });
// Switch every dataset still in D1 over, a page of datasets per message.
export const SwitchDatasetStoresMessage = z.object({ type: z.literal("switch-dataset-stores"), afterId: z.number().int().default(0) });

export const JobMessage = z.discriminatedUnion("type", [DestroyDatasetStoreMessage, CopyDatasetStoreMessage, CopyDatasetStoresMessage, SwitchDatasetStoresMessage, SwitchDatasetStoreMessage, PruneDatasetD1Message, BuildPyramidMessage, ExportMessage, ExpireExportsMessage, IngestSessionMessage, IngestItemMessage, IngestAnnotationsMessage, ExpireUploadsMessage, GcBlobsMessage]);
export type JobMessage = z.infer<typeof JobMessage>;
export type JobType = JobMessage["type"];
export type MessageOf<T extends JobType> = Extract<JobMessage, { type: T }>;
