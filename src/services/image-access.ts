import { eq } from "drizzle-orm";
import type { Context } from "hono";
import { datasets, images } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, forbidden, notFound, unauthorized } from "../lib/errors";
import { authenticate } from "../lib/middleware";
import type { ServiceCtx } from "./context";

export type ImageRow = typeof images.$inferSelect;

export async function imageById(ctx: Pick<ServiceCtx, "db">, id: number): Promise<ImageRow | null> {
  const [row] = await ctx.db.select().from(images).where(eq(images.id, id)).limit(1);
  return row ?? null;
}

/** Remo's wording for a missing image on the cache/downsample routes. */
export const imageNotFound = (id: number) => new ApiError("NOT_FOUND", `Image #${id} - not found`);

/**
 * An image the caller may read (its dataset is theirs or public: the rule of access.ts readableDataset); another
 * user's private image is a 404. One query (image joined to its dataset): this sits in front of every cache hit.
 */
export async function readableImage(ctx: ServiceCtx, id: number): Promise<ImageRow> {
  const [row] = await ctx.db
    .select({ img: images, ownerId: datasets.ownerId, isPublic: datasets.isPublic })
    .from(images)
    .innerJoin(datasets, eq(datasets.id, images.datasetId))
    .where(eq(images.id, id))
    .limit(1);
  if (!row || (row.ownerId !== ctx.user.id && !row.isPublic)) throw imageNotFound(id);
  return row.img;
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
  const img = await imageById(c.var, imageId);
  if (!img) throw notFound();
  return { img, signed: true };
}
