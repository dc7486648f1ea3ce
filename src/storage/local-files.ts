import type { Env } from "../env";
import { isPrivateAddress } from "../lib/ssrf";

/**
 * The local file service (scripts/local-files.mjs) that `npm start` runs beside the Worker, so that Remo's
 * `local_files` (absolute paths on the user's disk) can be read. It is reached by plain fetch, not safeFetch: this
 * one configured loopback origin is the only exemption from the SSRF policy, and user input only ever becomes the
 * `path` query parameter, never the origin. Redirects are not followed.
 */
export interface LocalFiles {
  origin: string;
  secret: string;
}

export interface LocalListing {
  files: { path: string; size: number }[];
  errors: { path: string; error: string }[];
  truncated: boolean;
}

const LIST_TIMEOUT_MS = 120_000;
const FILE_TIMEOUT_MS = 600_000;

/** The configured service, or null (deployed). A non-loopback origin is ignored: it could only be a mistake. */
export function localFilesService(env: Env): LocalFiles | null {
  if (!env.LOCAL_FILES_URL || !env.LOCAL_FILES_SECRET) return null;
  let url: URL;
  try {
    url = new URL(env.LOCAL_FILES_URL);
  } catch {
    return null;
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || (isPrivateAddress(host) && (host.startsWith("127.") || host === "::1"));
  if (url.protocol !== "http:" || !loopback) return null;
  return { origin: url.origin, secret: env.LOCAL_FILES_SECRET };
}

/** Remo's local_files are absolute paths (POSIX, or Windows with a drive or a UNC share). */
export const isAbsolutePath = (p: string) => p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith("\\\\");

function call(svc: LocalFiles, route: "list" | "file", params: Record<string, string>, timeoutMs: number) {
  const url = new URL(`/${route}`, svc.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return fetch(url.toString(), {
    headers: { "x-local-files-secret": svc.secret },
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
}

const unreachable = (svc: LocalFiles, e: unknown) =>
  `the local file service at ${svc.origin} did not answer (${(e as Error)?.message ?? e}): is \`npm start\` still running?`;

/** Files under a path (itself if a file), and the per-file refusals (outside the root, `..`, symlinks out). */
export async function listLocalFiles(svc: LocalFiles, path: string, limit: number): Promise<LocalListing> {
  let res: Response;
  try {
    res = await call(svc, "list", { path, limit: String(limit) }, LIST_TIMEOUT_MS);
  } catch (e) {
    return { files: [], errors: [{ path, error: `${path}: ${unreachable(svc, e)}` }], truncated: false };
  }
  if (!res.ok) {
    await res.body?.cancel();
    return {
      files: [],
      errors: [{ path, error: `${path}: the local file service answered HTTP ${res.status}` }],
      truncated: false,
    };
  }
  return (await res.json()) as LocalListing;
}

/** The bytes of one file as a Response, or why not (the service's own sentence when it refused). */
export async function openLocalFile(svc: LocalFiles, path: string): Promise<Response | string> {
  let res: Response;
  try {
    res = await call(svc, "file", { path }, FILE_TIMEOUT_MS);
  } catch (e) {
    return unreachable(svc, e);
  }
  if (res.ok) return res;
  const text = await res.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error?: string };
    if (error) return error.startsWith(path) ? error.slice(path.length).replace(/^:\s*/, "") : error;
  } catch {
    // not the service's JSON: fall through to the status
  }
  return `the local file service answered HTTP ${res.status}`;
}

/** A small text file (a class encoding), or undefined if it cannot be read or is over `maxBytes`. */
export async function readLocalText(svc: LocalFiles, path: string, maxBytes: number): Promise<string | undefined> {
  const res = await openLocalFile(svc, path);
  if (typeof res === "string") return undefined;
  if (Number(res.headers.get("content-length") ?? Infinity) > maxBytes) {
    await res.body?.cancel();
    return undefined;
  }
  return res.text();
}
