import type { Env } from "../../env";
import { BlobTooLarge, BlobWriter, stagingKey } from "../../storage/blobs";
import type { ItemRow } from "./item";

/** The file's staged copy from an earlier attempt (a retry does not download twice), or null. */
export async function alreadyStaged(env: Env, item: ItemRow): Promise<{ key: string; size: number } | null> {
  if (!item.r2_key) return null;
  const head = await env.BUCKET.head(item.r2_key);
  return head ? { key: item.r2_key, size: head.size } : null;
}

export const describeFailure = (e: unknown, timeoutMs: number) => {
  const name = (e as Error)?.name;
  return name === "TimeoutError" || name === "AbortError"
    ? `timed out after ${timeoutMs / 1000} s`
    : String((e as Error)?.message ?? e);
};

/**
 * Streams a downloaded body into staging (at most one R2 part in memory) and records the item's key, size and file
 * name. The URL and local-file paths share it. Answers why not as a sentence.
 */
export async function stageResponse(
  env: Env,
  sid: string,
  item: ItemRow,
  res: Response,
  fileName: string,
  limits: { maxBytes: number; timeoutMs: number },
): Promise<{ key: string; size: number } | string> {
  const { maxBytes, timeoutMs } = limits;
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    await res.body?.cancel();
    return `${declared} bytes is over the ${maxBytes} byte limit`;
  }
  const key = stagingKey(sid, fileName);
  const w = new BlobWriter(env.BUCKET, key, maxBytes);
  try {
    if (res.body) for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) await w.write(c);
  } catch (e) {
    await w.abort();
    if (e instanceof BlobTooLarge) return `over the ${maxBytes} byte limit`;
    return describeFailure(e, timeoutMs);
  }
  const { size, sha256 } = await w.close();
  await env.DB.prepare("UPDATE upload_items SET r2_key = ?, size = ?, sha256 = ?, name = ? WHERE id = ?")
    .bind(key, size, sha256, fileName, item.id)
    .run();
  return { key, size };
}
