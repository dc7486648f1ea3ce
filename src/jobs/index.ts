import type { Env } from "../env";
import { movedDatasetOfJob } from "../dataset-store/forward";
import { datasetStore } from "../dataset-store/store";
import { log } from "../lib/log";
import { handlers, type JobHandler, type JobMeta } from "./handlers";
import { JobMessage, type JobType } from "./messages";

const MAX_DELAY_SECONDS = 300;

/**
 * The queue consumer for every queue. A message that fails is retried with exponential backoff, never acked,
 * so after max_retries it reaches the dead-letter queue; the DLQ consumer (same function, `*-dlq` queue) calls the
 * handler's `deadLetter` so the session or job says `failed`, then acks.
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const deadLetters = batch.queue.endsWith("-dlq");
  for (const msg of batch.messages) {
    const meta: JobMeta = { id: msg.id, attempts: msg.attempts, queue: batch.queue };
    const parsed = JobMessage.safeParse(msg.body);
    if (!parsed.success) {
      log("error", msg.id, "unparseable queue message", { queue: batch.queue, body: msg.body, issues: parsed.error.issues });
      if (deadLetters) msg.ack();
      else msg.retry({ delaySeconds: Math.min(2 ** msg.attempts, MAX_DELAY_SECONDS) });
      continue;
    }
    const body = parsed.data;
    const handler = handlers[body.type as JobType] as JobHandler<JobType>;
    try {
      // A message about a dataset that moved to its DatasetStore runs there (issue 13).
      const moved = await movedDatasetOfJob(env, body);
      if (moved !== null) await datasetStore(env, moved).runJob(moved, body, meta, deadLetters);
      else if (deadLetters) await handler.deadLetter?.(body, env, meta);
      else await handler.run(body, env, meta);
      msg.ack();
    } catch (e) {
      log("error", msg.id, "queue message failed", { queue: batch.queue, type: body.type, attempts: msg.attempts, error: String((e as Error)?.stack ?? e) });
      msg.retry({ delaySeconds: Math.min(2 ** msg.attempts, MAX_DELAY_SECONDS) });
    }
  }
}
