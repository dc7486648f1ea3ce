import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { datasets, images } from "../../db/schema";
import type { AppEnv } from "../../env";
import { ApiError, forbidden, notFound, unauthorized } from "../../lib/errors";
import { authenticate } from "../../lib/middleware";
import { TtlCache } from "../../lib/ttl-cache";
import type { ServiceCtx } from "../context";

export type ImageRow = typeof images.$inferSelect;

/** Remo's wording for a missing image on the cache/downsample routes. */
export const imageNotFound = (id: number) => new ApiError("NOT_FOUND", `Image #${id} - not found`);

/**
 * Image rows with their dataset's owner and visibility, cached in the isolate for a short while: every cache hit
 * of an image route (downsample, view, IIIF/DZI tiles) otherwise pays a D1 round trip for the access check and the
 * sha256 of its KV key, more than the KV read itself (BENCHMARKS.md, images). Bounded in size and age, like the
 * API-key cache (src/lib/middleware.ts). Writes that change an image's access or pyramid in this isolate clear it
 * at once (`forgetImageAccess`); another isolate may serve an image deleted or made private for at most
 * IMAGE_ACCESS_TTL_MS. Misses are never cached, so a new image is readable everywhere immediately.
 */
export const IMAGE_ACCESS_TTL_MS = 30_000;
const IMAGE_ACCESS_MAX = 10_000;
interface ImageAccess {
  img: ImageRow;
  ownerId: number;
  isPublic: boolean;
}
const accessCache = new TtlCache<number, ImageAccess>(IMAGE_ACCESS_TTL_MS, IMAGE_ACCESS_MAX);

/** After a write that deletes images, changes a dataset's visibility or an image's pyramid (this isolate only). */
export function forgetImageAccess() {
  accessCache.clear();
}

async function imageAccess(ctx: Pick<ServiceCtx, "db">, id: number, fresh: boolean): Promise<ImageAccess | null> {
  const hit = fresh ? undefined : accessCache.get(id);
  if (hit) return hit;
  const [row] = await ctx.db
    .select({ img: images, ownerId: datasets.ownerId, isPublic: datasets.isPublic })
    .from(images)
    .innerJoin(datasets, eq(datasets.id, images.datasetId))
    .where(eq(images.id, id))
    .limit(1);
  if (!row) {
    accessCache.delete(id);
    return null;
  }
  accessCache.set(id, row);
  return row;
}

/**
 * An image the caller may read (its dataset is theirs or public: the rule of access.ts readableDataset); another
 * user's private image is a 404. One query (image joined to its dataset), or none within the cache's lifetime;
 * `fresh` skips the cache (for routes that act on the pyramid status).
 */
export async function readableImage(ctx: ServiceCtx, id: number, opts: { fresh?: boolean } = {}): Promise<ImageRow> {
  const a = await imageAccess(ctx, id, opts.fresh ?? false);
  if (!a || (a.ownerId !== ctx.user.id && !a.isPublic)) throw imageNotFound(id);
  return a.img;
}

/**
 * Access to the byte routes outside /api/ (`/files`, `/iiif`, `/dzi`), where the global key check does not run:
 * a valid `Authorization` key of a user who may read the image, or else a valid signature (`verdict`).
 * A bad or expired signature, or none, is 403; a bad key 401; another user's private image 404.
 */
export async function authorizeImageBytes(
  c: Context<AppEnv>,
  imageId: number,
  verdict: "ok" | "expired" | "invalid" | "absent",
): Promise<{ img: ImageRow; signed: boolean }> {
  if (c.req.header("authorization")) {
    const user = await authenticate(c);
    if (!user) throw unauthorized("Invalid token.");
    const img = await readableImage({ db: c.var.db, env: c.env, user, requestId: c.var.requestId }, imageId);
    return { img, signed: false };
  }
  if (verdict === "expired") throw forbidden("This image URL has expired.");
  if (verdict === "invalid") throw forbidden("This image URL's signature is not valid.");
  if (verdict === "absent") throw forbidden("This image URL needs a signature or an Authorization key.");
  const a = await imageAccess(c.var, imageId, false);
  if (!a) throw notFound();
  return { img: a.img, signed: true };
}
