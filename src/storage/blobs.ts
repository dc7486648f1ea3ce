import { toHex } from "../lib/hashing";

/** R2 multipart parts must all be the same size (but the last) and at least 5 MiB. */
export const PART_SIZE = 8 * 1024 * 1024;

export const imageKey = (sha256: string) => `images/${sha256}`;

/**
 * Prefixes the API writes under (originals, upload staging, export files, pyramids). They hold every user's
 * bytes, so a user-supplied bucket key (`local_files`, a class encoding's `local_path`) may never point into
 * them: linking `images/` would hand one user every other user's images.
 */
export const MANAGED_PREFIXES = ["images/", "uploads/", "exports/", "derived/"] as const;

/** Why a user-supplied bucket key or prefix is refused, or null when it is acceptable. */
export function userKeyProblem(key: string): string | null {
  const k = key.replace(/^\/+/, "");
  if (!k) return "the bucket root is not a prefix you can link";
  if (k.split("/").some((seg) => seg === "..")) return "'..' is not allowed in a key";
  const managed = MANAGED_PREFIXES.find((p) => k.startsWith(p) || p.startsWith(k));
  return managed ? `'${managed}' holds this API's own objects and cannot be linked` : null;
}
/** Where received bytes wait for the ingest consumer (deleted when the session ends). */
export const stagingKey = (sessionId: string, name: string) =>
  `uploads/${sessionId}/${crypto.randomUUID()}/${name.replace(/[^\w.-]+/g, "_").slice(-100)}`;

/**
 * Streams chunks into one R2 object holding at most one part in memory: a single put when the whole thing fits
 * in a part, R2 multipart above that. Also hashes what it writes (SHA-256), so callers learn the digest for free.
 */
export class BlobWriter {
  private buf: Uint8Array[] = [];
  private buffered = 0;
  private upload: R2MultipartUpload | null = null;
  private parts: R2UploadedPart[] = [];
  private digest = new crypto.DigestStream("SHA-256");
  private digestWriter = this.digest.getWriter();
  size = 0;

  constructor(
    private bucket: R2Bucket,
    readonly key: string,
    private maxBytes = Infinity,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (!chunk.length) return;
    this.size += chunk.length;
    if (this.size > this.maxBytes) throw new BlobTooLarge(this.maxBytes);
    await this.digestWriter.write(chunk);
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(PART_SIZE - this.buffered, chunk.length - off);
      this.buf.push(chunk.subarray(off, off + take));
      this.buffered += take;
      off += take;
      if (this.buffered === PART_SIZE) await this.flushPart();
    }
  }

  private takeBuffer(): Uint8Array {
    const out = concat(this.buf, this.buffered);
    this.buf = [];
    this.buffered = 0;
    return out;
  }

  private async flushPart() {
    this.upload ??= await this.bucket.createMultipartUpload(this.key);
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.takeBuffer()));
  }

  /** Finishes the object; returns its size and SHA-256 (hex). */
  async close(httpMetadata?: R2HTTPMetadata): Promise<{ size: number; sha256: string }> {
    await this.digestWriter.close();
    const sha256 = toHex(await this.digest.digest);
    if (!this.upload) {
      await this.bucket.put(this.key, this.takeBuffer(), { httpMetadata });
    } else {
      if (this.buffered) this.parts.push(await this.upload.uploadPart(this.parts.length + 1, this.takeBuffer()));
      await this.upload.complete(this.parts);
    }
    return { size: this.size, sha256 };
  }

  async abort(): Promise<void> {
    this.buf = [];
    // The digest promise rejects once its stream is aborted; nobody else awaits it.
    this.digest.digest.catch(() => {});
    try {
      await this.digestWriter.abort();
    } catch {}
    if (this.upload) await this.upload.abort().catch(() => {});
  }
}

export class BlobTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

export function concat(chunks: Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Bytes [offset, offset+length) of an object (R2 ranged read); shorter at the end of the object. */
export async function readRange(bucket: R2Bucket, key: string, offset: number, length: number): Promise<Uint8Array> {
  if (length <= 0) return new Uint8Array(0);
  const obj = await bucket.get(key, { range: { offset, length } });
  if (!obj) throw new Error(`object ${key} is gone`);
  return new Uint8Array(await obj.arrayBuffer());
}

/**
 * Streaming SHA-256 of an object, whatever its size. With `inspect`, each chunk is also handed to it on the way
 * (one read of the object serves both, e.g. a structural check of an image's end).
 */
export async function hashObject(
  bucket: R2Bucket,
  key: string,
  inspect?: (chunk: Uint8Array) => void,
): Promise<{ sha256: string; size: number } | null> {
  const obj = await bucket.get(key);
  if (!obj) return null;
  const digest = new crypto.DigestStream("SHA-256");
  if (!inspect) await obj.body.pipeTo(digest);
  else {
    const writer = digest.getWriter();
    for await (const chunk of chunksOf(obj.body, 1 << 20)) {
      inspect(chunk);
      await writer.write(chunk);
    }
    await writer.close();
  }
  return { sha256: toHex(await digest.digest), size: obj.size };
}

/** Copies an object without holding it: R2 gets a stream of known length. */
export async function copyObject(
  bucket: R2Bucket,
  from: string,
  to: string,
  httpMetadata?: R2HTTPMetadata,
): Promise<boolean> {
  const obj = await bucket.get(from);
  if (!obj) return false;
  await bucket.put(to, obj.body, { httpMetadata });
  return true;
}

/** Reads a ReadableStream in chunks no bigger than `max` (fflate inflates each push at once: small pushes bound memory). */
export async function* chunksOf(stream: ReadableStream<Uint8Array>, max = 64 * 1024): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (let off = 0; off < value.length; off += max) yield value.subarray(off, Math.min(off + max, value.length));
    }
  } finally {
    reader.releaseLock();
  }
}
