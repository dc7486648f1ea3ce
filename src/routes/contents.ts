import { createRoute } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { toPage } from "../lib/pagination";
import { createRouter } from "../lib/router";
import { errorResponses, jsonContent, pageOf, security } from "../schemas/common";
import { ContentsItem, ContentsQuery, DatasetFolderPath } from "../schemas/folders";
import { serviceCtx } from "../services/context";
import { listContents } from "../services/search/contents";
import { isSearch } from "../services/search/filters";
import { searchContents } from "../services/search/views";

export const contentsRoutes = createRouter();
const tags = ["contents"];

const paths = [
  ["/api/v1/ui/datasets/{id}/contents", false],
  ["/api/v1/ui/datasets/{id}/contents/{folder_id}", true],
  ["/api/user-dataset/{id}/contents", false],
  ["/api/user-dataset/{id}/contents/{folder_id}", true],
] as const;

for (const [path, inFolder] of paths) {
  contentsRoutes.openapi(
    createRoute({
      method: "get",
      path,
      tags,
      security,
      summary: inFolder ? "A folder's subfolders, then its images" : "The dataset root's folders, then its images",
      request: { params: inFolder ? DatasetFolderPath : IdPath, query: ContentsQuery },
      responses: { 200: jsonContent(pageOf(ContentsItem), "Folders first, then images"), ...errorResponses },
    }),
    async (c) => {
      const p = c.req.valid("param") as { id: number; folder_id?: number };
      const q = c.req.valid("query");
      // Any search parameter turns the listing into Remo's search over the whole dataset (remo-reference §6.1).
      if (isSearch(q)) return c.json(await searchContents(serviceCtx(c), p.id, q, c.req.url), 200);
      const { count, results } = await listContents(serviceCtx(c), p.id, p.folder_id ?? null, q);
      return c.json(toPage(c.req.url, q, count, results), 200);
    },
  );
}
