import { useEffect, useMemo, useState } from "preact/hooks";
import { allPages, api } from "../lib/api";
import { globalSearchLoader, PAGE_SIZE } from "../lib/grid-data";
import { FilterBar, filterQuery, useUrlFilters, type Filters } from "../lib/grid-filters";
import { ImageGrid, Legend } from "../lib/grid-view";
import { ErrorBox, Layout, Loading, mount } from "../lib/layout";
import "../styles/grid.css";

interface DatasetItem {
  id: number;
  name: string;
}
interface SetItem {
  id: number;
  name: string;
  statistics: { all_classes: { name: string; count: number }[]; tags: string[] };
}
type SetWithDataset = SetItem & { datasetId: number; datasetName: string };

const SEARCH_KEYS = ["classes", "classes_not", "tags", "tags_not", "image_name"] as const;

/**
 * The legacy global search's URL for these filters (`GET /api/v1/ui/search/`, src/routes/search.ts): it needs `sets`
 * or `dataset_id`, so "all datasets" sends every set the caller can read (theirs and public ones) as `sets`.
 * Null when there is no set to search.
 */
function searchUrl(f: Filters, sets: SetWithDataset[]): string | null {
  const q = new URLSearchParams(filterQuery(f, SEARCH_KEYS));
  if (f.sets) q.set("sets", f.sets);
  else if (f.dataset_id) q.set("dataset_id", f.dataset_id);
  else if (sets.length) q.set("sets", sets.map((s) => s.id).join(","));
  else return null;
  q.set("limit", String(PAGE_SIZE));
  return `/api/v1/ui/search/?${q}`;
}

/**
 * `/datasets/filtered/images`: the dataset page's filtered grid across datasets. Reads the datasets the caller can
 * see and their sets once (for the choices, and the set list "all datasets" needs), then pages the global search.
 */
function SearchPage() {
  const [filters, setFilters] = useUrlFilters();
  const [datasets, setDatasets] = useState<DatasetItem[] | null>(null);
  const [sets, setSets] = useState<SetWithDataset[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    (async () => {
      const ds = await allPages<DatasetItem>("/api/v1/ui/datasets/?limit=200", 1000);
      const perDataset = await Promise.all(
        ds.map(async (d) =>
          (await allPages<SetItem>(`/api/v1/ui/datasets/${d.id}/annotation-sets/?limit=200`, 1000)).map((s) => ({
            ...s,
            datasetId: d.id,
            datasetName: d.name,
          })),
        ),
      );
      setDatasets(ds);
      setSets(perDataset.flat());
    })().catch(setError);
  }, []);

  const names = useMemo(() => new Map((datasets ?? []).map((d) => [d.id, d.name])), [datasets]);
  const loader = useMemo(() => globalSearchLoader(names), [names]);
  if (error)
    return (
      <Layout title="Search">
        <ErrorBox error={error} />
      </Layout>
    );
  if (!datasets || !sets)
    return (
      <Layout title="Search">
        <Loading what="datasets" />
      </Layout>
    );

  const inDataset = sets.filter((s) => !filters.dataset_id || String(s.datasetId) === filters.dataset_id);
  const shown = inDataset.filter((s) => !filters.sets || filters.sets.split(",").includes(String(s.id)));
  const url = searchUrl(filters, inDataset);
  const legend = new Map<string, number>();
  for (const s of shown)
    for (const c of s.statistics.all_classes) legend.set(c.name, (legend.get(c.name) ?? 0) + c.count);
  const classes = [...new Set(inDataset.flatMap((s) => s.statistics.all_classes.map((c) => c.name)))].sort();
  const tags = [...new Set(inDataset.flatMap((s) => s.statistics.tags))].sort();
  const apply = (f: Filters) => {
    // A set of another dataset than the one chosen would make the search empty: choosing a dataset drops it.
    if (f.sets && f.dataset_id && !sets.some((s) => String(s.id) === f.sets && String(s.datasetId) === f.dataset_id))
      delete f.sets;
    setFilters(f);
  };

  return (
    <Layout title="Search">
      <FilterBar
        value={filters}
        onApply={apply}
        choices={{
          datasets,
          sets: inDataset.map((s) => ({
            id: s.id,
            name: filters.dataset_id ? s.name : `${s.datasetName} · ${s.name}`,
          })),
          classes,
          tags,
        }}
      />
      <Legend classes={[...legend].map(([name, count]) => ({ name, count }))} />
      <p class="muted">One tile per matching image and annotation set, over your datasets and public ones.</p>
      {url ? (
        <ImageGrid key={url} firstUrl={url} load={loader} empty="No image matches these filters." />
      ) : (
        <p class="muted">No annotation sets to search yet.</p>
      )}
    </Layout>
  );
}

mount(<SearchPage />);
