import { buildApp } from "./app";
import type { Env } from "./env";
import { handleQueue } from "./jobs";
import type { JobMessage } from "./jobs/messages";
import { enqueue } from "./storage/queues";

export { DatasetStore } from "./dataset-store/store";

const app = buildApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => handleQueue(batch, env),
  // Hourly sweep: blobs no image points at any more (and, once exports land, expired export files).
  scheduled: async (_controller, env) => {
    await enqueue(env.INGEST, { type: "gc-blobs" });
    await enqueue(env.INGEST, { type: "expire-uploads" });
    await enqueue(env.EXPORTS, { type: "expire-exports" });
  },
} satisfies ExportedHandler<Env, JobMessage>;
