import type { JobMessage } from "../jobs/messages";

/** Messages carry ids, never bytes (a message is at most 128 KB). */
export async function enqueue(queue: Queue<JobMessage>, message: JobMessage, delaySeconds?: number): Promise<void> {
  await queue.send(message, { contentType: "json", ...(delaySeconds ? { delaySeconds } : {}) });
}

/** sendBatch takes at most 100 messages per call. */
export async function enqueueMany(queue: Queue<JobMessage>, messages: JobMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 100) {
    await queue.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
}
