/**
 * The rows that make up one dataset, table by table, in the order a copy must insert them (parents first), and how
 * each table's rows of dataset `?1` are found in D1. This is the dividing line of issue 13: these tables move into
 * the dataset's `DatasetStore`; everything else (api_keys, jobs, upload_*, blob_gc) is the control plane and stays
 * in D1.
 *
 * `users`, `classes` and `tags` are global in D1; the object keeps a mirror of the rows its dataset uses (the owner,
 * and the classes and tags its sets reference) so the services' joins find them. The owner's password hash is never
 * copied.
 */
export interface StoreTable {
  /** SQLite table name, as in migrations/. */
  name: string;
  /** A SELECT of this table's rows for dataset ?1, as `t.*` with the rowid first as "__rowid". */
  select: string;
  /** Only the dataset's own rows count when a copy is checked; mirrors of global rows do not. */
  counted: boolean;
}

const SETS = "SELECT id FROM annotation_sets WHERE dataset_id = ?1";

export const STORE_TABLES: readonly StoreTable[] = [
  {
    name: "users",
    select:
      "SELECT t.rowid AS __rowid, t.id, t.email, t.name, '' AS password_hash, t.is_superuser, t.created_at FROM users t " +
      "WHERE t.id = (SELECT owner_id FROM datasets WHERE id = ?1)",
    counted: false,
  },
  { name: "datasets", select: "SELECT t.rowid AS __rowid, t.* FROM datasets t WHERE t.id = ?1", counted: true },
  { name: "folders", select: "SELECT t.rowid AS __rowid, t.* FROM folders t WHERE t.dataset_id = ?1", counted: true },
  { name: "images", select: "SELECT t.rowid AS __rowid, t.* FROM images t WHERE t.dataset_id = ?1", counted: true },
  { name: "annotation_sets", select: "SELECT t.rowid AS __rowid, t.* FROM annotation_sets t WHERE t.dataset_id = ?1", counted: true },
  {
    name: "classes",
    select:
      "SELECT t.rowid AS __rowid, t.* FROM classes t WHERE t.id IN " +
      `(SELECT class_id FROM annotation_set_classes WHERE set_id IN (${SETS}) ` +
      `UNION SELECT class_id FROM annotation_classes WHERE set_id IN (${SETS}))`,
    counted: false,
  },
  {
    name: "annotation_set_classes",
    select: `SELECT t.rowid AS __rowid, t.* FROM annotation_set_classes t WHERE t.set_id IN (${SETS})`,
    counted: true,
  },
  { name: "annotations", select: `SELECT t.rowid AS __rowid, t.* FROM annotations t WHERE t.set_id IN (${SETS})`, counted: true },
  {
    name: "annotation_objects",
    select: `SELECT t.rowid AS __rowid, t.* FROM annotation_objects t WHERE t.set_id IN (${SETS})`,
    counted: true,
  },
  {
    name: "annotation_classes",
    select: `SELECT t.rowid AS __rowid, t.* FROM annotation_classes t WHERE t.set_id IN (${SETS})`,
    counted: true,
  },
  {
    name: "tags",
    select: `SELECT t.rowid AS __rowid, t.* FROM tags t WHERE t.id IN (SELECT tag_id FROM image_tags WHERE set_id IN (${SETS}))`,
    counted: false,
  },
  { name: "image_tags", select: `SELECT t.rowid AS __rowid, t.* FROM image_tags t WHERE t.set_id IN (${SETS})`, counted: true },
];

export type StoreTableName = (typeof STORE_TABLES)[number]["name"];

export function storeTable(name: string): StoreTable {
  const t = STORE_TABLES.find((x) => x.name === name);
  if (!t) throw new Error(`not a DatasetStore table: ${name}`);
  return t;
}
