import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../../index";
import { createUser, type TestUser } from "../../../test/helpers/factories";

/** A user with `users.is_superuser` set, as an operator sets it with `wrangler d1 execute`. */
export async function superuser(): Promise<TestUser> {
  const u = await createUser("Operator");
  await env.DB.prepare("UPDATE users SET is_superuser = 1 WHERE id = ?").bind(u.id).run();
  return u;
}

/** One message through the Worker's own queue handler, as the consumer of `queue` receives it; it must be acked. */
export async function deliver(body: unknown, queue = "remo-ingest") {
  const id = `m-${Math.random()}`;
  const batch = createMessageBatch(queue, [{ id, timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as never, env as never);
  const result = await getQueueResult(batch, ctx);
  expect(result.explicitAcks, JSON.stringify(result)).toContain(id);
}
