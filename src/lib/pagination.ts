import { z } from "@hono/zod-openapi";
import { queryBool } from "./params";

export const DEFAULT_LIMIT = 32;
export const MAX_LIMIT = 1000;

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).openapi({ example: 32 }),
  offset: z.coerce.number().int().min(0).default(0).openapi({ example: 0 }),
});
export type PageQuery = z.infer<typeof PageQuery>;

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** Relative `next`/`previous` links: the request's own path and query with limit/offset replaced. */
export function pageLinks(requestUrl: string, page: PageQuery, count: number): { next: string | null; previous: string | null } {
  const url = new URL(requestUrl);
  const link = (offset: number) => {
    const q = new URLSearchParams(url.search);
    q.set("limit", String(page.limit));
    if (offset > 0) q.set("offset", String(offset));
    else q.delete("offset");
    return `${url.pathname}?${q.toString()}`;
  };
  const next = page.offset + page.limit < count ? link(page.offset + page.limit) : null;
  const previous = page.offset > 0 ? link(Math.max(0, page.offset - page.limit)) : null;
  return { next, previous };
}

export function toPage<T>(requestUrl: string, page: PageQuery, count: number, results: T[]): Page<T> {
  return { count, ...pageLinks(requestUrl, page, count), results };
}

export { queryBool };
