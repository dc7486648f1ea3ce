import { useEffect, useState } from "preact/hooks";
import { api } from "../lib/api";
import { ErrorBox, humanBytes, Layout, Loading, mount } from "../lib/layout";
import "../styles/grid.css";

/** `GET /api/v1/ui/datasets/` items (remo-reference §2.1; src/services/datasets.ts serializeDatasetItem). */
interface DatasetItem {
  id: number;
  name: string;
  owner: string;
  is_public: boolean;
  is_archived: boolean;
  /** Signed preview URLs of the dataset's first (up to 4) images. */
  image_thumbnails: string[];
  quantity: number;
  size_in_bytes: number;
}

interface SetItem {
  id: number;
  name: string;
  task: { name: string };
  statistics: { total_annotation_objects: number };
}

const PAGE = 50;

/**
 * The caller's datasets and every public one, 50 at a time ("More" reads the list's `next` page). Each card's
 * annotation sets come from the dataset's own set list (the dataset list item does not carry them), read per card.
 * Private datasets are always the caller's (nobody else can see them); public ones say whose they are.
 */
function DatasetsPage() {
  const [items, setItems] = useState<DatasetItem[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [next, setNext] = useState<string | null>(`/api/v1/ui/datasets/?limit=${PAGE}`);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function more() {
    if (!next) return;
    setLoading(true);
    try {
      const page = await api<{ count: number; next: string | null; results: DatasetItem[] }>(next);
      setItems((old) => [...old, ...page.results]);
      setCount(page.count);
      setNext(page.next);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    more();
  }, []);

  return (
    <Layout
      title="Datasets"
      actions={
        count !== null && (
          <span class="muted">
            {count.toLocaleString("en")} {count === 1 ? "dataset" : "datasets"}
          </span>
        )
      }
    >
      {error ? <ErrorBox error={error} /> : null}
      {count === 0 && <p class="muted">No datasets yet. Create one with the API or the SDK (see API).</p>}
      <div class="dataset-list">
        {items.map((d) => (
          <DatasetCard key={d.id} d={d} />
        ))}
      </div>
      {loading && <Loading what="datasets" />}
      {next && !loading && !error && count !== null && (
        <button type="button" onClick={more}>
          More datasets
        </button>
      )}
    </Layout>
  );
}

function DatasetCard(props: { d: DatasetItem }) {
  const d = props.d;
  const [sets, setSets] = useState<SetItem[] | null>(null);
  useEffect(() => {
    api<{ results: SetItem[] }>(`/api/v1/ui/datasets/${d.id}/annotation-sets/?limit=20`).then(
      (r) => setSets(r.results),
      () => setSets([]),
    );
  }, [d.id]);
  return (
    <article class="dataset-card panel" data-testid="dataset-card" data-dataset-id={d.id}>
      <a class="thumbs" href={`/datasets/${d.id}`} tabIndex={-1} aria-hidden="true">
        {d.image_thumbnails.length ? (
          d.image_thumbnails.slice(0, 4).map((src) => <img key={src} src={src} alt="" decoding="async" />)
        ) : (
          <span class="muted no-thumbs">No images</span>
        )}
      </a>
      <div class="card-body">
        <h2>
          <a href={`/datasets/${d.id}`} data-testid="dataset-link">
            {d.name}
          </a>
        </h2>
        <p class="muted">
          <span data-testid="dataset-count">
            {d.quantity.toLocaleString("en")} {d.quantity === 1 ? "image" : "images"}
          </span>{" "}
          · {humanBytes(d.size_in_bytes)}
        </p>
        <p>
          <span class={`chip ${d.is_public ? "public" : ""}`} data-testid="visibility">
            {d.is_public ? `Public · ${d.owner}` : "Private · yours"}
          </span>
          {d.is_archived && <span class="chip">Archived</span>}
        </p>
        {sets === null ? (
          <p class="muted">Loading annotation sets…</p>
        ) : sets.length ? (
          <ul class="set-links">
            {sets.map((s) => (
              <li key={s.id}>
                {s.name} <span class="muted">({s.statistics.total_annotation_objects} objects)</span>{" "}
                <a href={`/annotation/${s.id}`}>Annotate</a> ·{" "}
                <a href={`/annotation-detail/${s.id}/insights`}>Insights</a>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No annotation sets</p>
        )}
      </div>
    </article>
  );
}

mount(<DatasetsPage />);
