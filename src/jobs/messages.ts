import { z } from "zod";

/**
 * Every queue message, by `type`. Feature modules add their message schema here; the consumer (jobs/index.ts)
 * dispatches on `type` to the handler registered in jobs/handlers.ts.
 */
export const GcBlobsMessage = z.object({ type: z.literal("gc-blobs") });

export const JobMessage = z.discriminatedUnion("type", [GcBlobsMessage]);
export type JobMessage = z.infer<typeof JobMessage>;
export type JobType = JobMessage["type"];
export type MessageOf<T extends JobType> = Extract<JobMessage, { type: T }>;
