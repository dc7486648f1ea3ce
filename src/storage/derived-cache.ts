import { sha256Hex } from "../lib/hashing";

/**
 * Derived images (downscales, crops, tiles) in KV, keyed by the source's sha256 and every parameter (and the
 * pipeline version), so a key never needs invalidating. The ETag is a hash of the key: the same request always
 * yields the same bytes, so a conditional request can be answered before KV is read.
 */
export const PIPELINE_VERSION = "v1";
/** KV needs ≥ 60 s; derived bytes can always be rebuilt, so they age out after 30 days unused. */
const TTL_SECONDS = 30 * 24 * 3600;

export interface DerivedImage {
  bytes: Uint8Array;
  contentType: string;
}

export function derivedKey(sha256: string, op: string, params: Record<string, string | number>): string {
  const parts = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
  return `img:${PIPELINE_VERSION}:${sha256}:${op}:${parts}`;
}

export async function derivedEtag(key: string): Promise<string> {
  return `"${(await sha256Hex(key)).slice(0, 40)}"`;
}

export async function getDerived(kv: KVNamespace, key: string): Promise<DerivedImage | null> {
  const { value, metadata } = await kv.getWithMetadata<{ ct?: string }>(key, "arrayBuffer");
  if (!value) return null;
  return { bytes: new Uint8Array(value), contentType: metadata?.ct ?? "image/jpeg" };
}

export async function putDerived(kv: KVNamespace, key: string, img: DerivedImage): Promise<void> {
  await kv.put(key, img.bytes, { expirationTtl: TTL_SECONDS, metadata: { ct: img.contentType } });
}
