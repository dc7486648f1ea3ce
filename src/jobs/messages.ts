import { z } from "zod";

/**
 * Every queue message, by `type`. Feature modules add their message schema here; the consumer (jobs/index.ts)
 * dispatches on `type` to the handler registered in jobs/handlers.ts.
 */
export const GcBlobsMessage = z.object({ type: z.literal("gc-blobs") });

// Exports (issue 5): one message per export job; the sweep of expired export files (cron).
export const ExportMessage = z.object({ type: z.literal("export"), jobId: z.number().int() });
export const ExpireExportsMessage = z.object({ type: z.literal("expire-exports") });

export const JobMessage = z.discriminatedUnion("type", [ExportMessage, ExpireExportsMessage, GcBlobsMessage]);
export type JobMessage = z.infer<typeof JobMessage>;
export type JobType = JobMessage["type"];
export type MessageOf<T extends JobType> = Extract<JobMessage, { type: T }>;
