import { sha256Hex } from "../lib/hashing";

/**
 * Derived images (downscales, crops, tiles) in KV, keyed by the source's sha256 and every parameter (and the
 * pipeline version), so a key never needs invalidating. The ETag is a hash of the key: the same request always
 * yields the same bytes, so a conditional request can be answered before KV is read.
 */
/**
 * v2: JPEG output from our own encoder (4:2:0) instead of photon's: new bytes, so new keys and ETags.
 * v3: EXIF orientation applied, PNG tRNS honoured, resampling in premultiplied alpha (issue 10).
 */
export const PIPELINE_VERSION = "v3";
/** KV needs ≥ 60 s; derived bytes can always be rebuilt, so they age out after 30 days unused. */
const TTL_SECONDS = 30 * 24 * 3600;

export interface DerivedImage {
  bytes: Uint8Array;
  contentType: string;
}

/**
 * Keys never change meaning, so reads may be served from the colo's KV cache for a day (KV's `cacheTtl`): hot
 * tiles and crops then skip the trip to KV's central stores.
 */
const READ_CACHE_TTL_SECONDS = 24 * 3600;

/**
 * In front of KV, the isolate keeps images read from KV a second time (promotion on the second request, so one-off
 * crops never take room): LRU, 8 MiB in all, 1 MiB an entry. Keys never change meaning, so nothing is ever stale;
 * the access check runs before either tier. Through the Worker this took a repeated hit from 5.0 to 4.0 ms median
 * against a 3.1 ms 304 (BENCHMARKS.md, images).
 */
export const ISOLATE_TIER_BYTES = 8 * 1024 * 1024;
export const ISOLATE_TIER_ENTRY_MAX = 1024 * 1024;
const isolateTier = new Map<string, DerivedImage>();
let isolateTierBytes = 0;

export function isolateGet(key: string): DerivedImage | null {
  const v = isolateTier.get(key);
  if (!v) return null;
  isolateTier.delete(key);
  isolateTier.set(key, v);
  return v;
}

export function isolatePut(key: string, img: DerivedImage): void {
  if (img.bytes.length > ISOLATE_TIER_ENTRY_MAX || isolateTier.has(key)) return;
  isolateTier.set(key, img);
  isolateTierBytes += img.bytes.length;
  while (isolateTierBytes > ISOLATE_TIER_BYTES) {
    const [oldest, v] = isolateTier.entries().next().value!;
    isolateTier.delete(oldest);
    isolateTierBytes -= v.bytes.length;
  }
}

/** Entries and bytes held by the isolate tier (for tests). */
export function isolateTierSize(): { entries: number; bytes: number } {
  return { entries: isolateTier.size, bytes: isolateTierBytes };
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
  const { value, metadata } = await kv.getWithMetadata<{ ct?: string }>(key, {
    type: "arrayBuffer",
    cacheTtl: READ_CACHE_TTL_SECONDS,
  });
  if (!value) return null;
  return { bytes: new Uint8Array(value), contentType: metadata?.ct ?? "image/jpeg" };
}

export async function putDerived(kv: KVNamespace, key: string, img: DerivedImage): Promise<void> {
  await kv.put(key, img.bytes, { expirationTtl: TTL_SECONDS, metadata: { ct: img.contentType } });
}
