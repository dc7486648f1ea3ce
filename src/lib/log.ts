/** One JSON line per event, always carrying the request id (or the queue message id). */
export function log(level: "info" | "warn" | "error", requestId: string, msg: string, extra: Record<string, unknown> = {}) {
  const line = JSON.stringify({ level, request_id: requestId, msg, ...extra });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}
