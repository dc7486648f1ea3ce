import { createRoute } from "@hono/zod-openapi";
import { IdPath } from "../lib/params";
import { createRouter } from "../lib/router";
import { errorResponses, jsonBody, jsonContent, security } from "../schemas/common";
import { CreateFolderBody, DatasetFolderPath, DeleteFolderQuery, Folder, UpdateFolderBody } from "../schemas/folders";
import { serviceCtx } from "../services/context";
import { createFolder, deleteFolder, serializeFolderRow, updateFolder } from "../services/folders";

export const folderRoutes = createRouter();
const tags = ["folders"];

folderRoutes.openapi(
  createRoute({
    method: "post",
    path: "/api/user-dataset/{id}/folders",
    tags,
    security,
    summary: "Create a folder, at the root or inside `parent_folder_id`",
    request: { params: IdPath, body: jsonBody(CreateFolderBody) },
    responses: { 201: jsonContent(Folder, "The new folder"), ...errorResponses },
  }),
  async (c) => c.json(serializeFolderRow(await createFolder(serviceCtx(c), c.req.valid("param").id, c.req.valid("json"))), 201),
);

folderRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/api/user-dataset/{id}/folders/{folder_id}",
    tags,
    security,
    summary: "Rename or move a folder",
    request: { params: DatasetFolderPath, body: jsonBody(UpdateFolderBody) },
    responses: { 200: jsonContent(Folder, "The folder"), ...errorResponses },
  }),
  async (c) => {
    const p = c.req.valid("param");
    return c.json(serializeFolderRow(await updateFolder(serviceCtx(c), p.id, p.folder_id, c.req.valid("json"))), 200);
  },
);

folderRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/api/user-dataset/{id}/folders/{folder_id}",
    tags,
    security,
    summary: "Delete a folder; a non-empty one only with recursive=true (409 otherwise)",
    request: { params: DatasetFolderPath, query: DeleteFolderQuery },
    responses: { 204: { description: "Deleted" }, ...errorResponses, 409: errorResponses[400] },
  }),
  async (c) => {
    const p = c.req.valid("param");
    await deleteFolder(serviceCtx(c), p.id, p.folder_id, c.req.valid("query").recursive ?? false);
    return c.body(null, 204);
  },
);
