import type { Env } from "../env";
import { signPath } from "./signing";

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

export async function imageUrls(env: Pick<Env, "SIGNING_SECRET">, img: { id: number; originalName: string }): Promise<ImageUrls> {
  const [url, view, preview, thumbnail] = await Promise.all([
    signPath(env, originalPath(img.id, img.originalName)),
    signPath(env, derivedPath(img.id, "view")),
    signPath(env, derivedPath(img.id, "preview")),
    signPath(env, derivedPath(img.id, "thumbnail")),
  ]);
  return { url, view, preview, thumbnail };
}
