import { api } from "./api";

/**
 * The public API calls the annotation tool makes, typed as the Worker answers them (README "Annotation sets, classes,
 * tags, annotations and search").
 */

/** `GET /api/v1/ui/annotation-sets/{id}/` (AnnotationSetSerializer): the set with its task, dataset and classes. */
export interface SetDetail {
  id: number;
  name: string;
  task: { name: string; type: string; available_tools: string[] };
  dataset: { id: number; name: string; owner: string; is_public: boolean };
  dataset_id: number;
  classes: { id: number; name: string }[];
}

/** One image of the annotation gallery (AnnotationSetImage; `status` in this set). */
export interface GalleryImage {
  id: number;
  name: string;
  width: number;
  height: number;
  status: "done" | "skipped" | "not_annotated";
  objects_count: number;
}

/** `GET /api/dataset/{ds}/annotation-set/{set}/image/`: a page of the gallery with the group counts. */
export interface GalleryPage {
  count: number;
  not_annotated_count: number;
  skipped_count: number;
  annotated_count: number;
  results: GalleryImage[];
}

export interface ImageTag {
  id: number;
  name: string;
}

/**
 * One page of the set's gallery in Remo's order (not annotated, skipped, annotated; by id within each group):
 * - no `imageId`: the first `limit` images;
 * - `imageId` and `direction`: the `limit` images after / before it, placing it in the group of `listedAs` (the
 *   status it had when the tool opened it, so an image just marked done does not move the cursor, README "The
 *   gallery");
 * - `imageId` alone with `limit` 1: that image with its status.
 */
export function gallery(
  datasetId: number,
  setId: number,
  q: { imageId?: number; direction?: "next" | "prev"; listedAs?: string; limit?: number } = {},
): Promise<GalleryPage> {
  const p = new URLSearchParams({ limit: String(q.limit ?? 1) });
  if (q.imageId !== undefined) p.set("image_id", String(q.imageId));
  if (q.direction) p.set("direction", q.direction);
  if (q.listedAs) p.set("image_status", q.listedAs);
  return api<GalleryPage>(`/api/dataset/${datasetId}/annotation-set/${setId}/image/?${p}`);
}

/** The image's objects (`annotation_info`) and status in the set, as the SDK reads them. */
export function readAnnotation(datasetId: number, setId: number, imageId: number) {
  return api<{ annotation_info: any[]; status: string }>(
    `/api/dataset/${datasetId}/annotation-set/${setId}/image/${imageId}/annotation/`,
  );
}

const setImage = (setId: number, imageId: number) => `/api/v1/ui/annotation-sets/${setId}/images/${imageId}`;

/** Replaces the image's objects in the set (`PUT .../annotations/`, save-annotation's body). */
export function saveAnnotation(setId: number, imageId: number, body: unknown) {
  return api(`${setImage(setId, imageId)}/annotations/`, { method: "PUT", body });
}

/** Stores the image's status in the set: `done`, `skipped` or `not_annotated`. */
export function setStatus(setId: number, imageId: number, status: string) {
  return api<{ status: string }>(`${setImage(setId, imageId)}/status/`, { method: "POST", body: { status } });
}

export async function listTags(setId: number, imageId: number): Promise<ImageTag[]> {
  const page = await api<{ results: ImageTag[] }>(`${setImage(setId, imageId)}/tags/`);
  return page.results;
}

/** Tags the image (the API lower-cases the name; tagging twice answers the existing tag). */
export function addTag(setId: number, imageId: number, name: string) {
  return api<ImageTag>(`${setImage(setId, imageId)}/tags/`, { method: "POST", body: { name } });
}

export function removeTag(setId: number, imageId: number, tagId: number) {
  return api(`${setImage(setId, imageId)}/tags/${tagId}/`, { method: "DELETE" });
}

/** Adds a class to the set (the API normalises the name, e.g. `"human HAND"` → `"Human hand"`); answers it. */
export function addClass(setId: number, name: string) {
  return api<{ id: number; name: string }>(`/api/v1/ui/annotation-sets/${setId}/classes/`, {
    method: "POST",
    body: { name },
  });
}
