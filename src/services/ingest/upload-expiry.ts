import type { Env } from "../../env";
import { enqueue } from "../../storage/queues";
import { failSession } from "./progress";

/** Sessions nobody completed: their staged bytes would otherwise stay in R2 for ever. */
export const ABANDONED_AFTER_DAYS = 7;
const PAGE = 50;

/** Fails and empties sessions left `not complete` past the cut-off, a page per message (cron, then self-enqueued). */
export async function expireAbandonedSessions(env: Env): Promise<void> {
  const cutoff = new Date(Date.now() - ABANDONED_AFTER_DAYS * 86_400_000).toISOString();
  const rows = await env.DB.prepare(
    "SELECT id FROM upload_sessions WHERE status = 'not complete' AND created_at < ? ORDER BY created_at LIMIT ?",
  )
    .bind(cutoff, PAGE)
    .all<{ id: string }>();
  for (const r of rows.results) {
    // failSession only moves sessions that are not finished, and the status filter above is re-checked there.
    await failSession(
      env,
      r.id,
      `Upload session was never completed and expired after ${ABANDONED_AFTER_DAYS} days`,
      "expired",
    );
  }
  if (rows.results.length === PAGE) await enqueue(env.INGEST, { type: "expire-uploads" });
}
