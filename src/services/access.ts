import { eq } from "drizzle-orm";
import { datasets } from "../db/schema";
import { forbidden, notFound } from "../lib/errors";
import type { ServiceCtx } from "./context";

export type DatasetRow = typeof datasets.$inferSelect;

/**
 * The one rule of who sees what: a private dataset (and all in it) is a 404 to anyone but its owner;
 * a public one is readable by every authenticated user and writable only by its owner (403).
 */
export async function readableDataset(ctx: ServiceCtx, id: number): Promise<DatasetRow> {
  const [row] = await ctx.db.select().from(datasets).where(eq(datasets.id, id)).limit(1);
  if (!row || (row.ownerId !== ctx.user.id && !row.isPublic)) throw notFound();
  return row;
}

export async function writableDataset(ctx: ServiceCtx, id: number, message?: string): Promise<DatasetRow> {
  const row = await readableDataset(ctx, id);
  if (row.ownerId !== ctx.user.id) throw forbidden(message ?? "Only the dataset owner can change this dataset.");
  return row;
}

export function canWrite(ctx: ServiceCtx, row: DatasetRow): boolean {
  return row.ownerId === ctx.user.id;
}
