import type { Env } from "../../env";
import { CorruptImageError, ImageTooLargeError } from "../../media/errors";
import { LIMITS } from "../../media/limits";
import { probeImage } from "../../media/probe";
import type { SourceImage } from "../../media/render";
import type { ImageRow } from "./access";

const fmt = (n: number) => n.toLocaleString("en-US");

/** Refuses, from the stored header size alone, an image too large for any decode. */
export function assertDecodable(width: number, height: number) {
  if (width > LIMITS.maxSide || height > LIMITS.maxSide)
    throw new ImageTooLargeError(
      `image of ${width}×${height} is too large to decode: the limit is ${fmt(LIMITS.maxSide)} pixels a side`,
    );
  if (width * height > LIMITS.maxSourcePixels)
    throw new ImageTooLargeError(
      `image of ${width}×${height} is too large to decode: the limit is ${fmt(LIMITS.maxSourcePixels)} pixels`,
    );
}

/**
 * The original's bytes and its header size, checked before anything is decoded: the size recorded at ingest and
 * the header itself must both be within the limits, and the byte size within what we read into memory.
 */
export async function loadSource(env: Env, img: Pick<ImageRow, "r2Key" | "width" | "height">): Promise<SourceImage> {
  assertDecodable(img.width, img.height);
  const obj = await env.BUCKET.get(img.r2Key);
  if (!obj) throw new CorruptImageError("the image's bytes are missing from storage");
  if (obj.size > LIMITS.maxSourceBytes) {
    await obj.body.cancel();
    throw new ImageTooLargeError(
      `image file of ${fmt(obj.size)} bytes is too large to decode: the limit is ${fmt(LIMITS.maxSourceBytes)} bytes`,
    );
  }
  const bytes = new Uint8Array(await obj.arrayBuffer());
  const info = probeImage(bytes);
  if (!info) throw new CorruptImageError("corrupt image: unreadable header");
  assertDecodable(info.width, info.height);
  return { bytes, width: info.width, height: info.height };
}
