import type { Env } from "../env";
import { ingestAnnotations } from "./ingest-annotations";
import { ingestItem, loadItem } from "./ingest-item";
import { failSession } from "./ingest-progress";
import { planSession } from "./ingest-session";

type Msg = { sessionId: string; itemId?: number };

/** A message that exhausted its retries: the session fails, naming what could not be processed. */
export async function ingestDeadLetter(env: Env, msg: Msg, what: string): Promise<void> {
  let name = "";
  if (msg.itemId !== undefined) name = (await loadItem(env, msg.itemId))?.name ?? `item ${msg.itemId}`;
  const reason = `${what}${name ? ` of ${name}` : ""} failed after repeated retries`;
  await failSession(env, msg.sessionId, reason, `dlq:${what}:${msg.itemId ?? ""}`);
}

export const ingestHandlers = {
  "ingest-session": {
    run: (msg: { sessionId: string }, env: Env) => planSession(env, msg.sessionId),
    deadLetter: (msg: { sessionId: string }, env: Env) => ingestDeadLetter(env, msg, "planning the upload"),
  },
  "ingest-item": {
    run: (msg: { sessionId: string; itemId: number; from: number }, env: Env) => ingestItem(env, msg),
    deadLetter: (msg: { sessionId: string; itemId: number }, env: Env) => ingestDeadLetter(env, msg, "processing"),
  },
  "ingest-annotations": {
    run: (msg: { sessionId: string; itemId: number }, env: Env) => ingestAnnotations(env, msg),
    deadLetter: (msg: { sessionId: string; itemId: number }, env: Env) => ingestDeadLetter(env, msg, "importing annotations"),
  },
};
