import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../lib/api";
import { idParam } from "../lib/boot";
import {
  contentsLoader,
  galleryLoader,
  galleryUrl,
  PAGE_SIZE,
  type GridFolder,
  type GridLoader,
  type StatusFilter,
} from "../lib/grid-data";
import { API_SEARCH_KEYS, FilterBar, filterQuery, useUrlFilters, type Filters } from "../lib/grid-filters";
import { ImageGrid, Legend } from "../lib/grid-view";
import { ErrorBox, humanBytes, Layout, Loading, mount } from "../lib/layout";
import "../styles/grid.css";

/** `GET /api/v1/ui/datasets/{id}/` (the detail serializer, src/services/datasets.ts datasetDetail). */
interface DatasetDetail {
  id: number;
  name: string;
  owner: string;
  quantity: number;
  size_in_bytes: number;
  is_public: boolean;
  total_annotation_objects: number;
}

/** `GET /api/v1/ui/datasets/{id}/annotation-sets/` items: the set with its counters (README "Annotation sets"). */
interface SetItem {
  id: number;
  name: string;
  task: { name: string };
  statistics: { all_classes: { name: string; count: number }[]; tags: string[]; total_annotation_objects: number };
}

/**
 * Which list the grid reads for these filters:
 * - `status` → the annotation gallery of one set (the first of `sets`, else the dataset's first set, which needs the
 *   set list: `undefined` until it is read, null when the dataset has no set);
 * - any search parameter → Remo's search on the contents route (the whole dataset, every folder);
 * - none → the contents of the root or of `folder`, folders first.
 * Only the status filter waits for the set list, so the first page of thumbnails is asked for at once, alongside the
 * dataset and its sets, not after them.
 */
function gridSource(
  datasetId: number,
  f: Filters,
  sets: SetItem[] | null,
): { url: string; load: GridLoader } | null | undefined {
  if (f.status) {
    const setId = Number(f.sets?.split(",")[0]) || (sets ? sets[0]?.id : undefined);
    if (!setId) return sets ? null : undefined;
    return {
      url: galleryUrl(datasetId, setId, f.status as StatusFilter),
      load: galleryLoader(datasetId, setId, f.status as StatusFilter),
    };
  }
  const base = `/api/v1/ui/datasets/${datasetId}/contents/`;
  if (API_SEARCH_KEYS.some((k) => f[k])) {
    return { url: `${base}${filterQuery(f, API_SEARCH_KEYS)}&limit=${PAGE_SIZE}`, load: contentsLoader(datasetId) };
  }
  return { url: `${base}${f.folder ? `${f.folder}/` : ""}?limit=${PAGE_SIZE}`, load: contentsLoader(datasetId) };
}

function DatasetPage() {
  const datasetId = idParam("dataset_id");
  const [filters, setFilters] = useUrlFilters();
  const [dataset, setDataset] = useState<DatasetDetail | null>(null);
  const [sets, setSets] = useState<SetItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [folders, setFolders] = useState<GridFolder[]>([]);
  const [count, setCount] = useState<number | null>(null);

  useEffect(() => {
    Promise.all([
      api<DatasetDetail>(`/api/v1/ui/datasets/${datasetId}/`),
      api<{ results: SetItem[] }>(`/api/v1/ui/datasets/${datasetId}/annotation-sets/?limit=1000`),
    ]).then(([d, s]) => {
      setDataset(d);
      setSets(s.results);
    }, setError);
  }, []);

  const source = useMemo(() => gridSource(datasetId, filters, sets), [filters, sets]);
  useEffect(() => {
    setFolders([]);
    setCount(null);
  }, [source?.url]);

  // The legend: the classes of the sets on show (the filtered ones, else all), with their object counts.
  const shownSets = (sets ?? []).filter((s) => !filters.sets || filters.sets.split(",").includes(String(s.id)));
  const legend = new Map<string, number>();
  for (const s of shownSets)
    for (const c of s.statistics.all_classes) legend.set(c.name, (legend.get(c.name) ?? 0) + c.count);
  const classes = [...new Set((sets ?? []).flatMap((s) => s.statistics.all_classes.map((c) => c.name)))].sort();
  const tags = [...new Set((sets ?? []).flatMap((s) => s.statistics.tags))].sort();
  const searching = !!filters.status || API_SEARCH_KEYS.some((k) => filters[k]);

  if (error) {
    return (
      <Layout title="Dataset">
        <ErrorBox error={error} />
      </Layout>
    );
  }
  const head =
    dataset && sets ? (
      <>
        <p class="dataset-stats muted" data-testid="dataset-stats">
          <span data-testid="image-count">{dataset.quantity.toLocaleString("en")} images</span> ·{" "}
          {humanBytes(dataset.size_in_bytes)} · {sets.length} annotation {sets.length === 1 ? "set" : "sets"} ·{" "}
          {dataset.total_annotation_objects.toLocaleString("en")} objects · owner {dataset.owner}
        </p>
        {sets.length > 0 && (
          <ul class="set-links">
            {sets.map((s) => (
              <li key={s.id}>
                <strong>{s.name}</strong> <span class="muted">{s.task.name}</span>{" "}
                <a href={`/annotation/${s.id}`}>Annotate</a> ·{" "}
                <a href={`/annotation-detail/${s.id}/insights`}>Insights</a>
              </li>
            ))}
          </ul>
        )}
        <FilterBar
          value={filters}
          choices={{ sets: sets.map((s) => ({ id: s.id, name: s.name })), classes, tags, status: sets.length > 0 }}
          onApply={(f) =>
            setFilters(f.folder && (f.status || API_SEARCH_KEYS.some((k) => f[k])) ? { ...f, folder: undefined } : f)
          }
        />
        <Legend classes={[...legend].map(([name, count]) => ({ name, count }))} />
      </>
    ) : (
      <Loading what="dataset" />
    );
  return (
    <Layout
      title={<span data-testid="dataset-name">{dataset?.name ?? "Dataset"}</span>}
      actions={
        dataset && (
          <span class={`chip ${dataset.is_public ? "public" : ""}`}>{dataset.is_public ? "Public" : "Private"}</span>
        )
      }
    >
      {head}
      <div class="grid-head">
        {filters.folder && !searching && (
          <a href={`/datasets/${datasetId}`} onClick={(e) => (e.preventDefault(), setFilters({}))}>
            ← Dataset root
          </a>
        )}
        {searching && count !== null && (
          <span data-testid="match-count">
            {count.toLocaleString("en")} matching {count === 1 ? "image" : "images"}
          </span>
        )}
        {searching && <span class="muted">Search covers every folder.</span>}
      </div>
      {folders.length > 0 && (
        <div class="folders" data-testid="folders">
          {folders.map((f) => (
            <a
              key={f.id}
              class="folder"
              href={`/datasets/${datasetId}?folder=${f.id}`}
              onClick={(e) => (e.preventDefault(), setFilters({ folder: String(f.id) }))}
            >
              <span class="folder-icon" aria-hidden="true">
                📁
              </span>
              <span>
                <strong>{f.name}</strong>
                <br />
                <span class="muted">
                  {f.total.toLocaleString("en")} {f.total === 1 ? "image" : "images"}
                </span>
              </span>
            </a>
          ))}
        </div>
      )}
      {source === undefined ? null : source ? (
        <ImageGrid
          key={source.url}
          firstUrl={source.url}
          load={source.load}
          onFolders={(f) => setFolders((old) => [...old, ...f])}
          onCount={setCount}
          empty={searching ? "No image matches these filters." : "No images here yet."}
        />
      ) : (
        <p class="muted">The status filter needs an annotation set; this dataset has none.</p>
      )}
    </Layout>
  );
}

mount(<DatasetPage />);
