/**
 * The rows that make up one dataset, table by table, in the order a copy must insert them (parents first), and how
 * each table's rows are found in D1. This is the dividing line of issue 13: these tables move into the dataset's
 * `DatasetStore`; everything else (api_keys, jobs, upload_*, blob_gc) is the control plane and stays in D1.
 *
 * `users`, `classes` and `tags` are global in D1; the object keeps a mirror of the rows its dataset uses (the owner,
 * and the classes and tags its sets reference) so the services' joins find them. The owner's password hash is never
 * copied.
 *
 * Each table is read in the order of an index it already has (`key`, ending in a unique column), so a page is one
 * index range however large D1 is: `images` by (dataset_id, rowid), the annotation tables per set by
 * (set_id, image_id, rowid). Sorting a million rows by rowid for every page instead made a copy quadratic.
 */
export interface StoreTable {
  /** SQLite table name, as in migrations/. */
  name: string;
  /** What ?1 is in `where`: the dataset id, or one of its annotation sets' ids (the copy walks them in turn). */
  scope: "dataset" | "set";
  /** The column list to read (`t` is the table): `t.*` but for the owner mirror, whose password hash stays behind. */
  columns: string;
  /** This table's rows of dataset (or set) ?1. */
  where: string;
  /** Keyset columns, in the order of an index over `where`'s column; the last is unique within it. */
  key: string[];
  /** Only the dataset's own rows count when a copy is checked; mirrors of global rows do not. */
  counted: boolean;
}

export const SETS_OF_DATASET = "SELECT id FROM annotation_sets WHERE dataset_id = ?1";

const rows = (name: string, where: string, key = ["rowid"]): StoreTable => ({
  name,
  scope: "dataset",
  columns: "t.*",
  where,
  key,
  counted: true,
});
const perSet = (name: string, key = ["image_id", "rowid"]): StoreTable => ({
  name,
  scope: "set",
  columns: "t.*",
  where: "t.set_id = ?1",
  key,
  counted: true,
});

export const STORE_TABLES: readonly StoreTable[] = [
  {
    name: "users",
    scope: "dataset",
    columns: "t.id, t.email, t.name, '' AS password_hash, t.is_superuser, t.created_at",
    where: "t.id = (SELECT owner_id FROM datasets WHERE id = ?1)",
    key: ["rowid"],
    counted: false,
  },
  rows("datasets", "t.id = ?1"),
  rows("folders", "t.dataset_id = ?1"),
  rows("images", "t.dataset_id = ?1"),
  rows("annotation_sets", "t.dataset_id = ?1"),
  {
    ...rows(
      "classes",
      `t.id IN (SELECT class_id FROM annotation_set_classes WHERE set_id IN (${SETS_OF_DATASET}) ` +
        `UNION SELECT class_id FROM annotation_classes WHERE set_id IN (${SETS_OF_DATASET}))`,
    ),
    counted: false,
  },
  perSet("annotation_set_classes", ["class_id"]),
  perSet("annotations"),
  perSet("annotation_objects"),
  perSet("annotation_classes"),
  {
    ...rows("tags", `t.id IN (SELECT tag_id FROM image_tags WHERE set_id IN (${SETS_OF_DATASET}))`),
    counted: false,
  },
  perSet("image_tags", ["image_id", "tag_id"]),
];

export function storeTable(name: string): StoreTable {
  const t = STORE_TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`not a DatasetStore table: ${name}`);
  return t;
}

/** `(k1, k2) > (?2, ?3)`: the keyset condition after a cursor, numbering its parameters from `first`. */
export function afterKey(t: StoreTable, first: number): string {
  const cols = t.key.map((k) => `t.${k}`).join(", ");
  const params = t.key.map((_, i) => `?${first + i}`).join(", ");
  return `(${cols}) > (${params})`;
}

/** This table's rows of the whole dataset ?1, for counting. */
export function datasetWhere(t: StoreTable): string {
  return t.scope === "set" ? `t.set_id IN (${SETS_OF_DATASET})` : t.where;
}
