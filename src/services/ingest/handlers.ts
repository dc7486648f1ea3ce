import { sql } from "drizzle-orm";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { ingestAnnotations } from "./annotations";
import { ingestItem, loadItem } from "./item";
import { eventStatement, failSession } from "./progress";
import { planSession } from "./session";
import { expireAbandonedSessions } from "./upload-expiry";

type Msg = { sessionId: string; itemId?: number };

const lastErrorKey = (msg: Msg, what: string) => `lasterr:${what}:${msg.itemId ?? ""}`;

/** Runs a handler; a failure is remembered (for the dead-letter reason) and rethrown so the queue retries. */
async function remembering(env: Env, msg: Msg, what: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    const key = lastErrorKey(msg, what);
    const message = String((e as Error)?.message ?? e).slice(0, 500);
    await runBatch(env.DB, [
      sql`DELETE FROM upload_events WHERE session_id = ${msg.sessionId} AND dedupe_key = ${key}`,
      eventStatement(msg.sessionId, { scope: "session", level: "note", message, key }),
    ]).catch(() => {});
    throw e;
  }
}

/** A message that exhausted its retries: the session fails, naming what could not be processed and why. */
export async function ingestDeadLetter(env: Env, msg: Msg, what: string): Promise<void> {
  let name = "";
  if (msg.itemId !== undefined) name = (await loadItem(env, msg.itemId))?.name ?? `item ${msg.itemId}`;
  const last = await env.DB.prepare("SELECT message FROM upload_events WHERE session_id = ? AND dedupe_key = ?")
    .bind(msg.sessionId, lastErrorKey(msg, what))
    .first<{ message: string }>();
  const reason = `${what}${name ? ` of ${name}` : ""} failed after repeated retries${last ? `: ${last.message}` : ""}`;
  await failSession(env, msg.sessionId, reason, `dlq:${what}:${msg.itemId ?? ""}`);
}

export const ingestHandlers = {
  "expire-uploads": {
    run: (_msg: unknown, env: Env) => expireAbandonedSessions(env),
  },
  "ingest-session": {
    run: (msg: { sessionId: string }, env: Env) =>
      remembering(env, msg, "planning the upload", () => planSession(env, msg.sessionId)),
    deadLetter: (msg: { sessionId: string }, env: Env) => ingestDeadLetter(env, msg, "planning the upload"),
  },
  "ingest-item": {
    run: (msg: { sessionId: string; itemId: number; from: number }, env: Env) =>
      remembering(env, msg, "processing", () => ingestItem(env, msg)),
    deadLetter: (msg: { sessionId: string; itemId: number }, env: Env) => ingestDeadLetter(env, msg, "processing"),
  },
  "ingest-annotations": {
    run: (msg: { sessionId: string; itemId: number }, env: Env) =>
      remembering(env, msg, "importing annotations", () => ingestAnnotations(env, msg)),
    deadLetter: (msg: { sessionId: string; itemId: number }, env: Env) =>
      ingestDeadLetter(env, msg, "importing annotations"),
  },
};
