import { useEffect, useState } from "preact/hooks";

/**
 * The filter bar of the dataset and search pages, and the page URL that carries the filters: the same query
 * parameters as Remo's search (`sets`, `classes`, `classes_not`, `tags`, `tags_not`, `image_name`, comma lists; README
 * "Annotation sets ... search"), plus the page's own `status`, `folder` (dataset page) and `dataset_id` (search page).
 * A filtered URL can be shared, and a reload or Back shows the same view.
 */

export const FILTER_KEYS = [
  "sets",
  "classes",
  "classes_not",
  "tags",
  "tags_not",
  "image_name",
  "status",
  "folder",
  "dataset_id",
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

/** The search parameters the API reads (the others are the page's own). */
export const API_SEARCH_KEYS = ["sets", "classes", "classes_not", "tags", "tags_not", "image_name"] as const;

/** The filters in the page's URL now (unknown parameters are ignored, empty ones dropped). */
export function readFilters(): Filters {
  const q = new URLSearchParams(location.search);
  const f: Filters = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k)?.trim();
    if (v) f[k] = v;
  }
  return f;
}

/** `?a=1&b=2` of the non-empty filters, in FILTER_KEYS order (so equal filters make equal URLs). */
export function filterQuery(f: Filters, keys: readonly FilterKey[] = FILTER_KEYS): string {
  const q = new URLSearchParams();
  for (const k of keys) if (f[k]) q.set(k, f[k]!);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/**
 * The filters as state, kept in the URL: `set` pushes a history entry (so Back undoes a filter), and Back/Forward
 * bring the URL's filters back.
 */
export function useUrlFilters(): [Filters, (f: Filters) => void] {
  const [filters, setFilters] = useState<Filters>(readFilters);
  useEffect(() => {
    const onPop = () => setFilters(readFilters());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const set = (f: Filters) => {
    const url = location.pathname + filterQuery(f);
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
    setFilters(readFilters());
  };
  return [filters, set];
}

export interface FilterChoices {
  sets: { id: number; name: string }[];
  classes: string[];
  tags: string[];
  /** The status filter (dataset page only: it needs one set). */
  status?: boolean;
  /** The dataset choice (search page only). */
  datasets?: { id: number; name: string }[];
}

/**
 * The form: edits a draft and applies it on "Apply" (or Enter), so typing does not start a search per key. Class and
 * tag fields take comma lists (all must match), with the known names offered as suggestions.
 */
export function FilterBar(props: { value: Filters; choices: FilterChoices; onApply: (f: Filters) => void }) {
  const [draft, setDraft] = useState<Filters>(props.value);
  useEffect(() => setDraft(props.value), [props.value]);
  const c = props.choices;
  const field = (k: FilterKey) => ({
    name: k,
    value: draft[k] ?? "",
    onInput: (e: Event) => setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value }),
  });
  const statusOn = !!draft.status;
  const submit = (e: Event) => {
    e.preventDefault();
    const f: Filters = {};
    for (const k of FILTER_KEYS) if (draft[k]?.trim()) f[k] = draft[k]!.trim();
    // The gallery behind the status filter lists one set's images and takes no other filter.
    if (f.status) for (const k of ["classes", "classes_not", "tags", "tags_not", "image_name"] as const) delete f[k];
    props.onApply(f);
  };
  const clear = () => props.onApply(props.value.folder ? { folder: props.value.folder } : {});
  return (
    <form class="filters panel" onSubmit={submit} role="search" aria-label="Filters">
      {c.datasets && (
        <label>
          Dataset
          <select {...field("dataset_id")} onChange={field("dataset_id").onInput}>
            <option value="">All datasets</option>
            {c.datasets.map((d) => (
              <option key={d.id} value={String(d.id)}>
                {d.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Annotation set
        <select {...field("sets")} onChange={field("sets").onInput}>
          <option value="">All sets</option>
          {c.sets.map((s) => (
            <option key={s.id} value={String(s.id)}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Classes
        <input {...field("classes")} list="filter-classes" placeholder="Car, Person" disabled={statusOn} />
      </label>
      <label>
        Without classes
        <input {...field("classes_not")} list="filter-classes" disabled={statusOn} />
      </label>
      <label>
        Tags
        <input {...field("tags")} list="filter-tags" placeholder="train" disabled={statusOn} />
      </label>
      <label>
        Without tags
        <input {...field("tags_not")} list="filter-tags" disabled={statusOn} />
      </label>
      <label>
        Image name
        <input {...field("image_name")} placeholder="contains…" disabled={statusOn} />
      </label>
      {c.status && (
        <label>
          Status
          <select {...field("status")} onChange={field("status").onInput}>
            <option value="">Any status</option>
            <option value="done">Done</option>
            <option value="skipped">Skipped</option>
            <option value="not_annotated">Not annotated</option>
          </select>
        </label>
      )}
      <span class="filter-actions">
        <button type="submit" class="primary">
          Apply
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </span>
      {statusOn && (
        <p class="muted filter-note">
          Status lists one set's images through the annotation gallery (the search has no status parameter), so it takes
          no class, tag or name filter.
        </p>
      )}
      <datalist id="filter-classes">
        {c.classes.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <datalist id="filter-tags">
        {c.tags.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
    </form>
  );
}
