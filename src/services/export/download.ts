import type { Env } from "../../env";

/** Byte ranges and the lookup behind the signed download route (src/routes/export-files.ts). */
export type ByteRange = { offset: number; length: number };

/** A single `bytes=` range against `size`: null = serve the whole file (absent, malformed or multi-range). */
export function parseRange(header: string | null | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^\s*bytes=(\d*)-(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { offset: Math.max(0, size - n), length: Math.min(n, size) };
  }
  const start = Number(m[1]);
  if (start >= size) return "unsatisfiable";
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return null;
  return { offset: start, length: end - start + 1 };
}

/** The finished export behind a signed download path, or null (unknown job, other name, or already swept). */
export async function exportObjectKey(
  env: Env,
  jobId: number,
  name: string,
): Promise<{ key: string; name: string; type: string } | null> {
  const job = await env.DB.prepare(
    "SELECT status, result_key, result_name, result_type FROM jobs WHERE id = ?1 AND kind = 'export'",
  )
    .bind(jobId)
    .first<{ status: string; result_key: string | null; result_name: string | null; result_type: string | null }>();
  if (!job || job.status !== "done" || !job.result_key || job.result_name !== name) return null;
  return { key: job.result_key, name: job.result_name, type: job.result_type ?? "application/octet-stream" };
}

export function downloadPath(jobId: number, name: string): string {
  return `/files/exports/${jobId}/${encodeURIComponent(name)}`;
}
