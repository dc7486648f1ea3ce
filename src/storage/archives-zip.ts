import { readRange } from "./blobs";
import { ArchiveError, counter, entryNameProblem, type ArchiveLimits } from "./archives";

/** One central-directory record: what a zip says about an entry before anything is inflated. */
export interface ZipEntry {
  index: number;
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  isDirectory: boolean;
  isSymlink: boolean;
}

const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024;
const u16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 0x1000000;
const u64 = (b: Uint8Array, i: number) => u32(b, i) + u32(b, i + 4) * 0x100000000;

/**
 * Reads the central directory with ranged gets (end of the object first), so every entry is known (names,
 * sizes, symlink bits) before a byte is inflated. Zip64 is understood.
 */
export async function readZipDirectory(bucket: R2Bucket, key: string, objectSize: number): Promise<ZipEntry[]> {
  const tailLen = Math.min(objectSize, 22 + 65535 + 20);
  const tailStart = objectSize - tailLen;
  const tail = await readRange(bucket, key, tailStart, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ArchiveError("not a zip file (no end of central directory): truncated or corrupt");
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(tail, loc) !== 0x07064b50) throw new ArchiveError("zip64 locator missing");
    const z64 = await readRange(bucket, key, u64(tail, loc + 8), 56);
    if (u32(z64, 0) !== 0x06064b50) throw new ArchiveError("zip64 end of central directory missing");
    count = u64(z64, 32);
    cdSize = u64(z64, 40);
    cdOffset = u64(z64, 48);
  }
  if (cdSize > MAX_DIRECTORY_BYTES) throw new ArchiveError("zip central directory too large");
  if (cdOffset + cdSize > objectSize)
    throw new ArchiveError("zip central directory out of bounds: truncated or corrupt");
  const cd = await readRange(bucket, key, cdOffset, cdSize);
  const out: ZipEntry[] = [];
  const dec = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || u32(cd, p) !== 0x02014b50) throw new ArchiveError("corrupt zip central directory");
    const madeBy = cd[p + 5];
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const external = u32(cd, p + 38);
    let localHeaderOffset = u32(cd, p + 42);
    const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // Zip64 extra field: the 64-bit values appear in order, only for the fields that were 0xffffffff.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = u16(cd, e);
      const len = u16(cd, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) ((size = u64(cd, q)), (q += 8));
        if (compressedSize === 0xffffffff) ((compressedSize = u64(cd, q)), (q += 8));
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, q);
      }
      e += 4 + len;
    }
    const unixMode = madeBy === 3 ? external >>> 16 : 0;
    out.push({
      index: i,
      name,
      method,
      flags,
      compressedSize,
      size,
      localHeaderOffset,
      isDirectory: name.endsWith("/") || (unixMode & 0xf000) === 0x4000,
      isSymlink: (unixMode & 0xf000) === 0xa000,
    });
    p = extraEnd + commentLen;
  }
  return out;
}

/** Refuses the whole archive when its declared expansion is a bomb; per-entry problems are returned, not thrown. */
export function checkZip(entries: ZipEntry[], limits: ArchiveLimits, archiveSize: number): Map<number, string> {
  if (entries.length > limits.maxEntries)
    throw new ArchiveError(`too many entries (${entries.length} > ${limits.maxEntries})`);
  const total = entries.reduce((n, e) => n + e.size, 0);
  if (total > limits.maxTotal)
    throw new ArchiveError(`expands to ${total} bytes, over the ${limits.maxTotal} byte cap`);
  if (total > limits.ratioFloor && total / Math.max(archiveSize, 1) > limits.maxRatio)
    throw new ArchiveError(
      `compression ratio ${Math.round(total / Math.max(archiveSize, 1))}:1 is over the ${limits.maxRatio}:1 cap (zip bomb?)`,
    );
  const problems = new Map<number, string>();
  for (const e of entries) {
    const bad = entryNameProblem(e.name);
    if (bad) problems.set(e.index, bad);
    else if (e.isSymlink) problems.set(e.index, "symbolic link");
    else if (e.flags & 1) problems.set(e.index, "encrypted entry");
    else if (e.method !== 0 && e.method !== 8) problems.set(e.index, `unsupported compression method ${e.method}`);
    else if (e.size > 0 && e.size / Math.max(e.compressedSize, 1) > limits.maxRatio * 10 && e.size > limits.ratioFloor)
      problems.set(e.index, "compression ratio too high (zip bomb?)");
  }
  return problems;
}

/**
 * The inflated bytes of one entry, read with a ranged get. Output past the declared size is an error (a lying
 * header is how bombs slip past a directory check).
 */
export async function openZipEntry(bucket: R2Bucket, key: string, e: ZipEntry): Promise<ReadableStream<Uint8Array>> {
  const head = await readRange(bucket, key, e.localHeaderOffset, 30);
  if (head.length < 30 || u32(head, 0) !== 0x04034b50) throw new ArchiveError(`corrupt local header for ${e.name}`);
  const dataStart = e.localHeaderOffset + 30 + u16(head, 26) + u16(head, 28);
  if (e.compressedSize === 0) return new Response(new Uint8Array(0)).body!;
  const obj = await bucket.get(key, { range: { offset: dataStart, length: e.compressedSize } });
  if (!obj) throw new ArchiveError("archive object is gone");
  const raw = obj.body as ReadableStream<Uint8Array>;
  const inflated =
    e.method === 8
      ? raw.pipeThrough(new DecompressionStream("deflate-raw") as unknown as TransformStream<Uint8Array, Uint8Array>)
      : raw;
  return inflated.pipeThrough(
    counter((n) => {
      if (n > e.size) throw new ArchiveError(`${e.name} inflates past its declared size (zip bomb?)`);
    }),
  );
}
