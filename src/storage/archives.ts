/**
 * Archive reading shared by the zip and tar readers: kinds by magic bytes, entry-name policy, expansion caps,
 * and a pull-based byte reader so entries stream through with backpressure (never a whole archive in memory).
 */

import { hasBytes } from "../lib/bytes";

export type ArchiveKind = "zip" | "tar" | "gzip" | "bzip2" | "xz";

export class ArchiveError extends Error {}

/** Expansion caps: a ratio past `maxRatio` once more than `ratioFloor` bytes came out is a bomb, as is `maxTotal`. */
export interface ArchiveLimits {
  maxRatio: number;
  ratioFloor: number;
  maxTotal: number;
  maxEntries: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxRatio: 100,
  ratioFloor: 8 * 1024 * 1024,
  maxTotal: 8 * 1024 * 1024 * 1024,
  maxEntries: 200_000,
  maxDepth: 3,
};

export function archiveKind(head: Uint8Array): ArchiveKind | null {
  // Local file header, or the end of central directory of an empty archive.
  if (hasBytes(head, [0x50, 0x4b, 3, 4]) || hasBytes(head, [0x50, 0x4b, 5, 6])) return "zip";
  if (hasBytes(head, [0x1f, 0x8b])) return "gzip";
  if (hasBytes(head, "BZh")) return "bzip2";
  if (hasBytes(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])) return "xz";
  if (hasBytes(head, "ustar", 257)) return "tar";
  return null;
}

/** Why an entry name may not be extracted (path traversal, absolute paths, drive letters), or null if it is fine. */
export function entryNameProblem(name: string): string | null {
  if (!name || name.includes("\0")) return "empty or invalid entry name";
  const n = name.replace(/\\/g, "/");
  if (n.startsWith("/") || /^[A-Za-z]:/.test(n)) return "absolute path";
  if (n.split("/").some((seg) => seg === "..")) return "path traversal (..)";
  return null;
}

/** Mac/Windows litter inside archives, skipped silently as Remo's is_system_file does. */
export function isSystemFile(name: string): boolean {
  const n = name.replace(/\\/g, "/");
  const base = n.slice(n.lastIndexOf("/") + 1);
  return (
    n.startsWith("__MACOSX/") ||
    n.includes("/__MACOSX/") ||
    base.startsWith(".") ||
    base === "Thumbs.db" ||
    base === "desktop.ini"
  );
}

/** Pulls exact byte counts from a stream, holding at most one upstream chunk. */
export class ByteReader {
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private eof = false;
  consumed = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  private async fill(): Promise<boolean> {
    while (!this.pending.length && !this.eof) {
      const { done, value } = await this.reader.read();
      if (done) this.eof = true;
      else this.pending = value;
    }
    return this.pending.length > 0;
  }

  /** Up to `max` bytes (fewer only at the end of the stream or of the current chunk). */
  async some(max: number): Promise<Uint8Array | null> {
    if (!(await this.fill())) return null;
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    this.consumed += out.length;
    return out;
  }

  /** Exactly `n` bytes, or fewer if the stream ends first. */
  async exact(n: number): Promise<Uint8Array> {
    const first = await this.some(n);
    if (!first || first.length === n) return first ?? new Uint8Array(0);
    const out = new Uint8Array(n);
    out.set(first);
    let off = first.length;
    while (off < n) {
      const c = await this.some(n - off);
      if (!c) return out.subarray(0, off);
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      const c = await this.some(Math.min(n, 1 << 20));
      if (!c) return;
      n -= c.length;
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

/** Counts bytes flowing through; `onBytes` may throw to abort the stream (caps). */
export function counter(onBytes: (total: number) => void): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, ctl) {
      total += chunk.length;
      onBytes(total);
      ctl.enqueue(chunk);
    },
  });
}

/** Splits big chunks so a consumer never holds more than `max` bytes of one chunk. */
export async function* iterate(stream: ReadableStream<Uint8Array>, max = 1 << 20): AsyncGenerator<Uint8Array> {
  const r = new ByteReader(stream);
  try {
    for (let c = await r.some(max); c; c = await r.some(max)) yield c;
  } finally {
    await r.cancel();
  }
}
