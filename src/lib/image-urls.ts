import type { Env } from "../env";
import { expiryFor, signScope } from "./signing";

/**
 * Relative, signed, expiring URLs of an image's bytes. The byte routes (`/files/...`) accept them without an
 * Authorization header; see src/routes/files.ts.
 * - original: the bytes as uploaded, with the original name last so a download keeps it;
 * - view / preview / thumbnail: JPEG downscales (longest side 2048 / 512 / 256), built on first request.
 */
export const DERIVED_SIZES = { view: 2048, preview: 512, thumbnail: 256 } as const;
export type DerivedSize = keyof typeof DERIVED_SIZES;

export function originalPath(imageId: number, name: string): string {
  return `/files/images/${imageId}/original/${encodeURIComponent(name)}`;
}

export function derivedPath(imageId: number, size: DerivedSize): string {
  return `/files/images/${imageId}/${size}.jpg`;
}

export interface ImageUrls {
  url: string;
  view: string;
  preview: string;
  thumbnail: string;
}

/** The signing scope of every byte path of image `id` (`/files/images/{id}/...`): one signature covers them all. */
export function imageScope(id: number): string {
  return `image:${id}`;
}

/**
 * The four URLs of an image, sharing one signature over `image:{id}` and the expiry (one HMAC per image, not one per
 * URL: a contents page of 32 images signed 128 times before). The byte routes accept it for any of the image's
 * paths (src/services/images/byte-auth.ts), and the authority is the same: whoever may see one size of an image may
 * see the others.
 */
export async function imageUrls(env: Pick<Env, "SIGNING_SECRET">, img: { id: number; originalName: string }): Promise<ImageUrls> {
  const exp = expiryFor();
  const query = `?exp=${exp}&sig=${await signScope(env, imageScope(img.id), exp)}`;
  return {
    url: originalPath(img.id, img.originalName) + query,
    view: derivedPath(img.id, "view") + query,
    preview: derivedPath(img.id, "preview") + query,
    thumbnail: derivedPath(img.id, "thumbnail") + query,
  };
}
