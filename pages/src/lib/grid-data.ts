import { api } from "./api";

/**
 * What the image grid shows, and the loaders that turn the API's image lists into it. Every loader reads one page
 * of one cursor-paged API list (the `next` link the API answers), never a whole dataset.
 */

/** A point in the image's own pixel space (the API's `{x, y}`). */
export interface Point {
  x: number;
  y: number;
}

/** One drawn object: 2 points are a bbox (its min/max corners), 3 or more a polygon (README "Rules: Coordinates"). */
export interface GridShape {
  setId: number | null;
  points: Point[];
  classes: string[];
}

/** One tile: an image (in one set, for the global search) with its objects in image pixels. */
export interface GridItem {
  key: string;
  id: number;
  datasetId: number;
  name: string;
  /** Signed preview URL (JPEG, longest side 512). */
  preview: string;
  /** The image's size in pixels; 0 when unknown (then nothing is drawn over it). */
  width: number;
  height: number;
  shapes: GridShape[];
  href: string;
  /** Extra caption text (the dataset's name on the search page). */
  note?: string;
}

export interface GridFolder {
  id: number;
  name: string;
  total: number;
  preview: string | null;
}

/** One page of a list: its tiles, any folders in it, the next page's relative URL, and the list's count if known. */
export interface GridPage {
  items: GridItem[];
  folders: GridFolder[];
  next: string | null;
  count: number | null;
}

export type GridLoader = (url: string, signal: AbortSignal) => Promise<GridPage>;

/** How many tiles a page asks for: a bit more than a 1280×860 screen holds (6 columns × 4 rows). */
export const PAGE_SIZE = 48;

/** `image.annotations[]` of the contents listing and search (README "Annotation sets..."; remo-reference §2.10). */
export interface ContentsAnnotation {
  annotation_set_id: number;
  coordinates: Point[][];
  classes: string[];
  object_classes: string[][];
  tags: string[];
}

/** The drawable objects of an image's per-set entries: one shape per coordinates list, with that object's classes. */
export function shapesOf(entries: ContentsAnnotation[]): GridShape[] {
  const out: GridShape[] = [];
  for (const e of entries)
    e.coordinates.forEach((points, i) => {
      if (points.length >= 2) out.push({ setId: e.annotation_set_id, points, classes: e.object_classes[i] ?? [] });
    });
  return out;
}

export const imageHref = (imageId: number, datasetId: number) => `/image/${imageId}?dataset_id=${datasetId}`;

interface ContentsRecord {
  record_type: "folder" | "image";
  folder: { id: number; name: string; total_images: number; preview: string | null } | null;
  image: {
    id: number;
    name: string;
    preview: string;
    dimensions: number[];
    annotations: ContentsAnnotation[];
  } | null;
}

/**
 * Reads a page of `GET /api/v1/ui/datasets/{id}/contents/[{folder}/]`, plain (folders first, offset links) or in
 * search mode (images only, `image_id` cursor links): both answer `{count, next, results: [{record_type, folder,
 * image}]}`.
 */
export function contentsLoader(datasetId: number): GridLoader {
  return async (url, signal) => {
    const page = await api<{ count: number; next: string | null; results: ContentsRecord[] }>(url, { signal });
    const folders: GridFolder[] = [];
    const items: GridItem[] = [];
    for (const r of page.results) {
      if (r.record_type === "folder" && r.folder)
        folders.push({ id: r.folder.id, name: r.folder.name, total: r.folder.total_images, preview: r.folder.preview });
      else if (r.image)
        items.push({
          key: String(r.image.id),
          id: r.image.id,
          datasetId,
          name: r.image.name,
          preview: r.image.preview,
          width: r.image.dimensions[0] ?? 0,
          height: r.image.dimensions[1] ?? 0,
          shapes: shapesOf(r.image.annotations),
          href: imageHref(r.image.id, datasetId),
        });
    }
    return { items, folders, next: page.next, count: page.count };
  };
}

/** The gallery's status names (`GET /api/dataset/{ds}/annotation-set/{set}/image/`) for each status filter value. */
export const STATUS_GROUPS = { done: "annotated", skipped: "skipped", not_annotated: "not_annotated" } as const;
export type StatusFilter = keyof typeof STATUS_GROUPS;

interface GalleryImage {
  id: number;
  name: string;
  preview: string;
  width: number;
  height: number;
  status: StatusFilter;
}

/** `GET /api/v1/ui/datasets/{ds}/images/{id}/annotations/`: one entry per set, objects with coordinates. */
interface ImageDetail {
  annotations: { annotation_set: { id: number }; objects: { coordinates: Point[]; classes: string[] }[] }[];
}

/** Runs `fn` over `xs` with at most `n` at a time (a page's detail reads share the browser's 6 connections). */
async function mapLimit<T, R>(xs: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, worker));
  return out;
}

/**
 * The status filter. Remo's search has no status parameter, so this reads the annotation tool's gallery, which lists
 * a set's images group by group (`order=<group>` puts that group first, by id, cursor-paged): the page's images of
 * that group are kept, and the list ends at the first image of another group. The gallery gives no coordinates, so
 * each kept image's objects come from the image's annotations route (one call per tile, 6 at a time).
 * `count` is the group's count from the gallery (`annotated_count`, `skipped_count`, `not_annotated_count`).
 */
export function galleryLoader(datasetId: number, setId: number, status: StatusFilter): GridLoader {
  const group = STATUS_GROUPS[status];
  return async (url, signal) => {
    const page = await api<{ next: string | null; results: GalleryImage[] } & Record<`${typeof group}_count`, number>>(
      url,
      { signal },
    );
    const kept = page.results.filter((r) => r.status === status);
    const details = await mapLimit(kept, 6, (r) =>
      api<ImageDetail>(`/api/v1/ui/datasets/${datasetId}/images/${r.id}/annotations/`, { signal }),
    );
    const items = kept.map((r, i): GridItem => {
      const shapes: GridShape[] = [];
      for (const a of details[i].annotations)
        if (a.annotation_set.id === setId)
          for (const o of a.objects)
            if (o.coordinates.length >= 2) shapes.push({ setId, points: o.coordinates, classes: o.classes });
      return {
        key: String(r.id),
        id: r.id,
        datasetId,
        name: r.name,
        preview: r.preview,
        width: r.width,
        height: r.height,
        shapes,
        href: imageHref(r.id, datasetId),
      };
    });
    const ended = kept.length < page.results.length;
    return { items, folders: [], next: ended ? null : page.next, count: page[`${group}_count`] ?? null };
  };
}

/** The gallery's first page for a status filter. */
export function galleryUrl(datasetId: number, setId: number, status: StatusFilter): string {
  return `/api/dataset/${datasetId}/annotation-set/${setId}/image/?order=${STATUS_GROUPS[status]}&limit=${PAGE_SIZE}`;
}

interface GlobalResult {
  image_id: number;
  dataset_id: number;
  annotation_set_id: number | null;
  name: string;
  preview: string;
  dimensions: number[];
  annotations: { coordinates: Point[][]; object_classes: string[][]; classes: string[]; tags: string[] };
}

/**
 * Reads a page of the legacy global search `GET /api/v1/ui/search/`: one result per matching (image, set), over the
 * caller's datasets and public ones. Its `count` is the page's length, not the total, so it is not reported.
 */
export function globalSearchLoader(datasetNames: Map<number, string>): GridLoader {
  return async (url, signal) => {
    const page = await api<{ next: string | null; results: GlobalResult[] }>(url, { signal });
    const items = page.results.map((r): GridItem => ({
      key: `${r.image_id}:${r.annotation_set_id}`,
      id: r.image_id,
      datasetId: r.dataset_id,
      name: r.name,
      preview: r.preview,
      width: r.dimensions[0] ?? 0,
      height: r.dimensions[1] ?? 0,
      shapes: shapesOf([{ annotation_set_id: r.annotation_set_id ?? 0, ...r.annotations }]),
      href: imageHref(r.image_id, r.dataset_id),
      note: datasetNames.get(r.dataset_id),
    }));
    return { items, folders: [], next: page.next, count: null };
  };
}
