import { api } from "./api";

/** The images before and after one image in its dataset (by id, the order of the dataset's image list), or null. */
export interface Neighbours {
  prev: { id: number; name: string } | null;
  next: { id: number; name: string } | null;
}

/** `GET /api/v1/ui/datasets/{id}/images/` items (README "Annotation sets, classes, tags, annotations and search"). */
interface ShortImage {
  id: number;
  name: string;
}

const PAGE = 1000;

/**
 * Finds the images before and after `imageId` in dataset `datasetId` by walking the dataset's image list (ordered
 * by id) a page of 1000 at a time until the image is seen, reading at most `maxPages` pages: one request for a
 * dataset of up to 1000 images. Resolves `{prev: null, next: null}` when the image is not within those pages.
 * @throws HttpError when the list cannot be read.
 */
export async function findNeighbours(datasetId: number, imageId: number, maxPages = 10): Promise<Neighbours> {
  let url: string | null = `/api/v1/ui/datasets/${datasetId}/images/?limit=${PAGE}`;
  let last: ShortImage | null = null;
  for (let page = 0; url && page < maxPages; page++) {
    const res: { results: ShortImage[]; next: string | null } = await api(url);
    const items = res.results;
    const i = items.findIndex((it) => it.id === imageId);
    if (i >= 0) {
      const prev = i > 0 ? items[i - 1] : last;
      let next: ShortImage | null = items[i + 1] ?? null;
      if (!next && res.next) {
        const more: { results: ShortImage[] } = await api(withLimit(res.next, 1));
        next = more.results[0] ?? null;
      }
      return { prev: prev && pick(prev), next: next && pick(next) };
    }
    last = items[items.length - 1] ?? last;
    url = res.next;
  }
  return { prev: null, next: null };
}

function pick(it: ShortImage) {
  return { id: it.id, name: it.name };
}

/** The list's relative `next` link with its page size replaced (the offset it carries stays). */
function withLimit(link: string, limit: number): string {
  const u = new URL(link, location.origin);
  u.searchParams.set("limit", String(limit));
  return u.pathname + u.search;
}
